"""The exactly-once prepaid sale.

``purchase`` is keyed by (caller, caller's reference). Inside one transaction it locks the meter and
its account, re-checks the reference, splits the tender (debt → fixed charges → energy), makes the
tokens (key change first when one is pending, then credit, then free basic electricity), posts the
balanced ledger entries, writes the audit record and commits. Tokens leave this module only after the
commit. The same reference returns the stored outcome; the same reference with another request is a
409; concurrent duplicates serialise on the meter row and the unique (client_key, client_ref) index.

On PostgreSQL a sale without shifts first tries the same without a transaction (``_sale_without_locks``,
on a connection of the pool's, with no session): it reads the context without locks, makes the
tokens, and writes everything in one statement that commits on its own and changes nothing unless the
meter and account rows are still the versions it read. When they are not (or the sale is not the
usual case) nothing was written, the tokens made were never issued, and the sale takes the locked way
above. The month's totals the split depends on are kept on the account row by every sale, so a sale
that committed meanwhile changed that row.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import msgspec
from sqlalchemy import Text, and_, bindparam, func, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import ColumnElement

from backend.db.batch import Bind, Columns, WriteBatch, next_id_columns
from backend.db.prepared import EntityColumns, Executor, Prepared, detached, pooled_connection
from backend.db.sql_functions import ROW_VERSION, constant, row_version, zero_padded
from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.assets.models import Meter
from backend.domain.audit import service as audit
from backend.domain.auth.rules import Role
from backend.domain.customers.models import Account, Customer
from backend.domain.errors import Conflict, DomainError, InvalidInput, NotFound
from backend.domain.keys import service as keys
from backend.domain.keys.engine import (
    VENDING_KEY_COLUMNS,
    TokenEngine,
    TokenOut,
    stored_key,
    vending_key_read,
)
from backend.domain.keys.models import MeterKeyChange, VendingKey
from backend.domain.keys.rules import next_tid, tid_at
from backend.domain.ledger import service as ledger
from backend.domain.ledger.models import LedgerTransaction
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs import rules as tariff_rules
from backend.domain.tariffs import service as tariffs
from backend.domain.tariffs.models import TariffVersion
from backend.domain.vending.models import ReceiptCounter, Shift, Vend, VendToken
from backend.domain.vending.rules import (
    CHANNELS,
    PAYMENT_METHODS,
    RECEIPT_SEQ_DIGITS,
    MonthTotals,
    local_month,
    month_of,
    month_totals_after,
    month_totals_kept,
    normalise_meter_number,
    receipt_counter_key,
    receipt_number,
    receipt_number_start,
    request_fingerprint,
    vend_ledger_lines,
)
from backend.domain.vending.sale_gate import Busy, sale_gate
from backend.settings import Settings

STS_KINDS = ("sts_keypad", "sts_smartcard", "ami")


class VendRefused(DomainError):
    """The sale cannot be made (meter, account or amount); recorded as a failed vend."""

    status = 422
    title = "Purchase refused"

    def __init__(self, code: str, detail: str, **extra: object) -> None:
        super().__init__(detail, code=code, outcome="failed", **extra)
        self.code = code


@dataclass(frozen=True, slots=True)
class PurchaseRequest:
    meter_number: str
    amount_minor: int
    currency: str
    payment_method: str
    payment_reference: str | None = None
    channel: str = "api"

    def fingerprint(self) -> str:
        return request_fingerprint(
            {
                "meter_number": normalise_meter_number(self.meter_number),
                "amount_minor": self.amount_minor,
                "currency": self.currency,
                "payment_method": self.payment_method,
                "payment_reference": self.payment_reference,
            }
        )


@dataclass(slots=True)
class VendOutcome:
    vend: Vend
    tokens: list[VendToken] = field(default_factory=list)
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a sale will do, computed under the locks, before anything is written.

    The meter, account, customer, version and pending change are usually detached instances read by
    one prepared statement: read them; writes go through statements of their own."""

    meter: Meter
    account: Account
    customer: Customer
    version: TariffVersion
    breakdown: tariff_rules.Breakdown
    credit_used_minor: int
    month: str
    debt_before_minor: int
    pending: MeterKeyChange | None = None

    def month_totals(self) -> tuple[str | None, MonthTotals]:
        """What the account's row keeps once this sale is made (see ``rules.month_totals_after``)."""
        b = self.breakdown
        sale = MonthTotals(b.energy_wh, b.fixed_net_minor + b.fixed_tax_minor, b.fbe_wh, b.debt_minor)
        return month_totals_after(self.account.sales_month, _kept(self.account), self.month, sale)


def client_key_of(actor: Actor) -> str:
    return f"{actor.kind}:{actor.id}"


def _validate(request: PurchaseRequest, settings: Settings) -> None:
    if request.currency != settings.currency:
        raise InvalidInput(f"This utility sells in {settings.currency}; the request says {request.currency}.")
    if request.amount_minor <= 0:
        raise InvalidInput("The amount must be a positive number of minor units (e.g. cents).")
    if request.payment_method not in PAYMENT_METHODS:
        raise InvalidInput(f"Payment method must be one of: {', '.join(PAYMENT_METHODS)}.")
    if request.channel not in CHANNELS:
        raise InvalidInput(f"Channel must be one of: {', '.join(CHANNELS)}.")
    digits = normalise_meter_number(request.meter_number)
    if len(digits) not in (11, 13):
        raise InvalidInput("A meter number has 11 or 13 digits, as printed on the meter.")


# The sale's statements are built once and bound per call. All but the first run as prepared
# The statements of a sale run on the driver connection (see backend.db.prepared).
_VEND = EntityColumns.of(Vend)
_EXISTING = Prepared(
    select(*_VEND.columns).where(Vend.client_key == bindparam("key"), Vend.client_ref == bindparam("ref"))
)


async def _existing(session: AsyncSession, client_key: str, client_ref: str) -> Vend | None:
    """The stored attempt under (client, reference), as a detached instance, or None."""
    row = await _EXISTING.first(session, {"key": client_key, "ref": client_ref})
    return None if row is None else cast(Vend, _VEND.build(row))


async def tokens_of(session: AsyncSession, vend_id: int) -> list[VendToken]:
    rows = await session.execute(
        select(VendToken).where(VendToken.vend_id == vend_id).order_by(VendToken.seq)
    )
    return list(rows.scalars().all())


async def _replay(session: AsyncSession, vend: Vend, fingerprint: str) -> VendOutcome:
    if vend.request_hash != fingerprint:
        raise Conflict(
            "This purchase reference was already used for a different request. "
            "Use a new reference for a new purchase.",
            code="reference_reused",
        )
    return VendOutcome(vend=vend, tokens=await tokens_of(session, vend.id), replayed=True)


_MONTH_TOTALS = Prepared(
    select(
        func.coalesce(func.sum(Vend.energy_wh), 0),
        func.coalesce(func.sum(Vend.fixed_minor), 0),
        func.coalesce(func.sum(Vend.fbe_wh), 0),
        func.coalesce(func.sum(Vend.debt_recovered_minor), 0),
    ).where(
        Vend.account_id == bindparam("account_id"),
        Vend.local_month == bindparam("month"),
        Vend.status == "success",
    )
)


def _kept(account: Account) -> MonthTotals:
    """The month's totals the account's row keeps (of its ``sales_month``)."""
    return MonthTotals(
        account.month_energy_wh,
        account.month_fixed_minor,
        account.month_fbe_wh,
        account.month_debt_recovered_minor,
    )


async def _month_totals(session: AsyncSession, account: Account, month: str) -> MonthTotals:
    """The account's sales of ``month``: kept on its row, or added up for a month before the row's."""
    kept = month_totals_kept(account.sales_month, _kept(account), month)
    if kept is not None:
        return kept
    row = await _MONTH_TOTALS.one(session, {"account_id": account.id, "month": month})
    return MonthTotals(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


async def _meter_by_number(session: AsyncSession, meter_number: str, *, lock: bool) -> Meter | None:
    query = select(Meter).where(Meter.meter_no == normalise_meter_number(meter_number))
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def _open_account(session: AsyncSession, meter: Meter, *, lock: bool) -> Account | None:
    if meter.supply_point_id is None or meter.status != "installed":
        return None
    query = select(Account).where(
        Account.supply_point_id == meter.supply_point_id, Account.status != "closed"
    )
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def _check_tid_range(meter: Meter, pending: MeterKeyChange | None, now: datetime) -> None:
    """Refuse a sale whose token could not carry a valid TID (e.g. base date 1993 after 2024-11-24).

    A pending key change to a later base date fixes it: its tokens go out first and the credit token
    then uses the new base date.
    """
    base_date = pending.new_base_date if pending is not None else meter.base_date
    assert base_date is not None
    try:
        tid_at(now, base_date)
    except ValueError:
        raise VendRefused(
            "tid_rollover_needed",
            f"Meter {meter.meter_no} is on base date {base_date}, whose token ids ran out; it needs the TID "
            "rollover key change (to base date 2014) before it can buy. Ask the utility's engineers.",
        ) from None


@dataclass(frozen=True, slots=True)
class SaleContext:
    meter: Meter
    account: Account
    customer: Customer
    version: TariffVersion
    structure: tariff_rules.Structure
    pending: MeterKeyChange | None


def _checked(
    meter: Meter,
    account: Account | None,
    customer: Customer | None,
    pending: MeterKeyChange | None,
    version: TariffVersion | None,
    now: datetime,
) -> SaleContext:
    """The sale context when the meter and account can buy now, else VendRefused saying why not."""
    if meter.kind not in STS_KINDS or meter.sgc is None:
        raise VendRefused("not_prepaid_meter", f"Meter {meter.meter_no} does not take prepaid tokens.")
    if account is None:
        raise VendRefused(
            "no_account", f"Meter {meter.meter_no} is not installed on an open customer account."
        )
    if account.payment_mode != "prepaid":
        raise VendRefused(
            "not_prepaid_account", f"Account {account.account_no} is postpaid; pay the bill instead."
        )
    if account.status != "active":
        raise VendRefused(
            "account_not_active",
            f"Account {account.account_no} is {account.status}; it cannot buy electricity now.",
        )
    _check_tid_range(meter, pending, now)
    if version is None:
        raise VendRefused(
            "no_tariff", f"Account {account.account_no} has no tariff in force; call the utility."
        )
    assert customer is not None
    return SaleContext(meter, account, customer, version, _structure(version.components), pending)


# Parsed tariff structures by their JSON text, for the sales that read the same few tariff versions
# over and over (the text is the whole input of the parse, so equal text gives an equal structure).
# The structures are shared: sales read them and never change them.
_STRUCTURES: dict[str, tariff_rules.Structure] = {}
_STRUCTURES_KEPT = 256


def _structure(components: str) -> tariff_rules.Structure:
    structure = _STRUCTURES.get(components)
    if structure is None:
        structure = tariff_rules.parse_structure(components)
        if len(_STRUCTURES) >= _STRUCTURES_KEPT:
            _STRUCTURES.clear()
        _STRUCTURES[components] = structure
    return structure


_CONTEXT_ENTITIES = tuple(
    EntityColumns.of(model) for model in (Meter, Account, Customer, MeterKeyChange, TariffVersion)
)


def _context_query(*, for_sale: bool, lock: bool = True) -> Prepared:
    """The meter, its open account, the customer, the pending key change and the account's tariff version
    in force at the bound moment ``at``.

    ``for_sale``: the meter and account rows locked (unless not ``lock``), and more that a sale needs,
    so that it does not ask for it separately: the meter's vending key (:data:`VENDING_KEY_COLUMNS`),
    the ids of the sale's ledger transaction and vend (allocated), the code of the seller's station
    ``station`` (the receipt number's prefix), whether the audit chain's head row exists and the id of
    a sale already stored under the caller's (``key``, ``ref``), or null (see ``_SaleRow``); without
    ``lock`` (PostgreSQL only), also the meter's and the account's row versions."""
    in_force_id = (
        tariffs.in_force_query(Account.tariff_id, bindparam("at"))
        .with_only_columns(TariffVersion.id)
        .correlate(Account)
        .scalar_subquery()
    )
    columns: list[Any] = [column for entity in _CONTEXT_ENTITIES for column in entity.columns]
    if for_sale:
        stored = select(Vend.id).where(
            Vend.client_key == bindparam("key"), Vend.client_ref == bindparam("ref")
        )
        station = select(OrgUnit.code).where(OrgUnit.id == bindparam("station"))
        columns += [
            *VENDING_KEY_COLUMNS,
            *next_id_columns(LedgerTransaction, Vend),
            station.scalar_subquery(),
            audit.head_present(),
            stored.scalar_subquery(),
        ]
        if not lock:
            columns += [row_version(Meter), row_version(Account)]
    query = (
        select(*columns)
        .select_from(Meter)
        .join(
            Account,
            and_(Account.supply_point_id == Meter.supply_point_id, Account.status != constant("closed")),
        )
        .join(Customer, Customer.id == Account.customer_id)
        .outerjoin(
            MeterKeyChange,
            and_(MeterKeyChange.meter_id == Meter.id, MeterKeyChange.status == constant("pending")),
        )
        .outerjoin(TariffVersion, TariffVersion.id == in_force_id)
        .where(Meter.meter_no == bindparam("digits"), Meter.status == constant("installed"))
    )
    if not for_sale:
        return Prepared(query)
    query = query.outerjoin(
        VendingKey, and_(VendingKey.sgc == Meter.sgc, VendingKey.krn == Meter.krn, VendingKey.kt == Meter.kt)
    )
    return Prepared(query.with_for_update(of=[Meter, Account]) if lock else query)


_LOOKUP_CONTEXT = _context_query(for_sale=False)
_SALE_CONTEXT = _context_query(for_sale=True)
_SALE_CONTEXT_UNLOCKED = _context_query(for_sale=True, lock=False)
_ENTITY_WIDTH = sum(len(entity.keys) for entity in _CONTEXT_ENTITIES)
_KEY_WIDTH = len(VENDING_KEY_COLUMNS)


@dataclass(frozen=True, slots=True)
class _SaleRow:
    """The columns of a sale's context row after the entities and the vending key."""

    transaction_id: int
    vend_id: int
    station_code: str | None
    head_present: bool
    stored_id: int | None
    versions: tuple[int, int] | None  # the meter's and the account's (read without locks)

    @classmethod
    def of(cls, row: tuple[Any, ...]) -> _SaleRow:
        transaction_id, vend_id, station_code, head_present, stored_id, *versions = row[
            _ENTITY_WIDTH + _KEY_WIDTH :
        ]
        return cls(
            int(transaction_id),
            int(vend_id),
            station_code,
            bool(head_present),
            stored_id,
            (int(versions[0]), int(versions[1])) if versions else None,
        )


def _context_row(row: tuple[Any, ...]) -> list[Any]:
    """The context row as detached instances (meter, account, customer, pending change or None,
    tariff version or None)."""
    out, start = [], 0
    for entity in _CONTEXT_ENTITIES:
        end = start + len(entity.keys)
        out.append(entity.build(row[start:end]))
        start = end
    return out


async def _context_the_long_way(
    session: AsyncSession, digits: str, meter_number: str, now: datetime, *, lock: bool
) -> SaleContext:
    """When the one-statement context found nothing: which of meter, installation, open account is
    missing (VendRefused saying so), or the context."""
    meter = await _meter_by_number(session, digits, lock=lock)
    if meter is None:
        raise VendRefused("unknown_meter", f"No meter numbered {meter_number} is registered.")
    account = await _open_account(session, meter, lock=lock)
    pending = await keys.pending_change(session, meter.id)
    version = None if account is None else await tariffs.version_in_force(session, account.tariff_id, now)
    customer = None if account is None else await session.get(Customer, account.customer_id)
    return _checked(meter, account, customer, pending, version, now)


async def sale_context(session: AsyncSession, meter_number: str, now: datetime) -> SaleContext:
    """The meter, its open prepaid account and the tariff in force, or VendRefused saying why not
    (nothing locked: the look-up and the quote). The usual case is one statement: an installed meter on
    an open account, its customer, pending key change and tariff version in force."""
    digits = normalise_meter_number(meter_number)
    row = await _LOOKUP_CONTEXT.first(session, {"digits": digits, "at": now})
    if row is None:
        return await _context_the_long_way(session, digits, meter_number, now, lock=False)
    meter, account, customer, pending, version = _context_row(row)
    return _checked(meter, account, customer, pending, version, now)


def _sale_context_of(row: tuple[Any, ...], now: datetime) -> SaleContext:
    """The context from a row of ``_SALE_CONTEXT``."""
    meter, account, customer, pending, version = _context_row(row)
    return _checked(meter, account, customer, pending, version, now)


def _key_read(meter: Meter, row: tuple[Any, ...] | None) -> AbstractContextManager[None]:
    """The meter's vending key as a row of ``_SALE_CONTEXT`` holds it, handed to the token engine's
    look-up for the block (``vending_key_read``): the sale makes its tokens inside it. Without a row
    (the context was read the long way) the engine reads the key itself."""
    if row is None or meter.sgc is None or meter.krn is None or meter.kt is None:
        return nullcontext()
    found = stored_key(meter.sgc, meter.krn, meter.kt, row[_ENTITY_WIDTH : _ENTITY_WIDTH + _KEY_WIDTH])
    return vending_key_read(meter.sgc, meter.krn, meter.kt, found)


async def plan_purchase(
    session: AsyncSession,
    settings: Settings,
    request: PurchaseRequest,
    now: datetime,
    *,
    context: SaleContext | None = None,
) -> Plan:
    """Check the meter, account and tariff (or take the ``context`` the sale has read and locked) and
    split the tender. Raises VendRefused with the reason."""
    ctx = context or await sale_context(session, request.meter_number, now)
    month = local_month(now, settings.zone)
    return _split(ctx, request, month, await _month_totals(session, ctx.account, month))


def _split(ctx: SaleContext, request: PurchaseRequest, month: str, totals: MonthTotals) -> Plan:
    """The plan of a sale in ``month`` whose account has sold ``totals`` in it so far (VendRefused
    when the tariff refuses the amount)."""
    fbe_due = tariff_rules.fbe_allowance_wh(
        ctx.structure, eligible=ctx.account.fbe_eligible, issued_this_month_wh=totals.fbe_wh
    )
    credit_used = ctx.account.credit_minor
    try:
        breakdown = tariff_rules.split_tender(
            ctx.structure,
            request.amount_minor + credit_used,
            debt_minor=ctx.account.debt_minor,
            fixed_due=totals.fixed_minor == 0 and bool(ctx.structure.fixed_charges),
            month_to_date_wh=totals.energy_wh,
            fbe_due_wh=fbe_due,
            debt_recovered_this_month_minor=totals.debt_recovered_minor,
        )
    except tariff_rules.TariffRuleError as exc:
        raise VendRefused("amount_refused", str(exc)) from None
    return Plan(
        ctx.meter,
        ctx.account,
        ctx.customer,
        ctx.version,
        breakdown,
        credit_used,
        month,
        ctx.account.debt_minor,
        ctx.pending,
    )


@dataclass(frozen=True, slots=True)
class Lookup:
    meter_no: str
    can_vend: bool
    reason: str | None
    customer_name: str | None = None
    address: str | None = None
    account_no: str | None = None
    tariff_name: str | None = None
    minimum_minor: int | None = None
    maximum_minor: int | None = None
    debt_minor: int = 0
    credit_minor: int = 0
    fbe_due_wh: int = 0
    key_change_pending: bool = False


async def lookup(
    session: AsyncSession, settings: Settings, meter_number: str, now: datetime | None = None
) -> Lookup:
    """ "Confirm customer": who the meter belongs to and whether it can buy now (and why not)."""
    now = now or utcnow()
    digits = normalise_meter_number(meter_number)
    async with session.begin():
        try:
            ctx = await sale_context(session, digits, now)
        except VendRefused as refusal:
            return Lookup(meter_no=digits, can_vend=False, reason=refusal.detail)
        from backend.domain.tariffs.models import Tariff

        tariff = await session.get(Tariff, ctx.account.tariff_id)
        fbe_issued = (await _month_totals(session, ctx.account, local_month(now, settings.zone))).fbe_wh
        return Lookup(
            meter_no=ctx.meter.meter_no,
            can_vend=True,
            reason=None,
            customer_name=ctx.customer.name,
            address=await supply_point_address(session, ctx.account.supply_point_id),
            account_no=ctx.account.account_no,
            tariff_name=tariff.name if tariff else None,
            minimum_minor=ctx.structure.min_purchase_minor,
            maximum_minor=ctx.structure.max_purchase_minor,
            debt_minor=ctx.account.debt_minor,
            credit_minor=ctx.account.credit_minor,
            fbe_due_wh=tariff_rules.fbe_allowance_wh(
                ctx.structure, eligible=ctx.account.fbe_eligible, issued_this_month_wh=fbe_issued
            ),
            key_change_pending=ctx.pending is not None,
        )


# The ids of a sale's ledger transaction and vend, allocated before the rows are written (they refer
# to each other). The sale's context statement allocates them too; this is for the long way round.
_IDS = Prepared(select(*next_id_columns(LedgerTransaction, Vend)))


# The receipt number, computed by the statement that moves the station's receipt counter
# (backend.db.batch), so that the counter is locked only from the sale's writes to its commit.
def _receipt_no(counter: Columns, bind: Bind) -> ColumnElement[Any]:
    return bind("start", Text()) + zero_padded(counter.last, RECEIPT_SEQ_DIGITS)


_STATION_CODE = Prepared(select(OrgUnit.code).where(OrgUnit.id == bindparam("id")))


async def _issue_tokens(
    executor: Executor, engine: TokenEngine, actor: Actor, plan: Plan, now: datetime
) -> tuple[list[TokenOut], int | None]:
    """Key change tokens first (when pending), then the credit token, then free basic electricity.
    Returns them with the meter's new last TID (None when unchanged), which the caller writes with the
    sale."""
    meter = plan.meter
    out: list[TokenOut] = []
    if plan.pending is not None:
        # Rare (once per meter per key change): through the ORM, on the rows the sale has locked (the
        # sale without locks leaves a pending change to the locked way).
        assert isinstance(executor, AsyncSession), "a pending key change is issued in a transaction"
        session = executor
        pending = await session.get(MeterKeyChange, plan.pending.id)
        assert pending is not None
        out.extend(await keys.tokens_for_change(engine, pending, meter))
        meter = await keys.mark_issued(session, pending, actor)
    data = keys.meter_key_data(meter)
    last = meter.last_tid
    for wh, subclass_kind in ((plan.breakdown.energy_wh, "credit"), (plan.breakdown.fbe_wh, "free_basic")):
        if wh <= 0:
            continue
        tid = next_tid(last, tid_at(now, data.base_date))
        token = await engine.credit(data, wh // 100, tid)
        out.append(
            TokenOut(
                digits=token.digits,
                kind=subclass_kind,
                subclass=token.subclass,
                tid=tid,
                units_0_1kwh=wh // 100,
                description="Free basic electricity"
                if subclass_kind == "free_basic"
                else "Electricity credit",
            )
        )
        last = tid
    return out, (last if last != meter.last_tid else None)


def receipt_lines(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "kind": line.kind,
            "label": line.label,
            "net_minor": line.net_minor,
            "tax_minor": line.tax_minor,
            "taxes": [{"name": t.name, "minor": t.minor} for t in line.taxes],
            "wh": line.wh,
            "rate": None if line.rate is None else str(line.rate),
        }
        for line in plan.breakdown.lines
    ]


def _receipt(plan: Plan, settings: Settings) -> dict[str, object]:
    b = plan.breakdown
    return {
        "lines": receipt_lines(plan),
        "debt_remaining_minor": plan.debt_before_minor - b.debt_minor,
        "credit_used_minor": plan.credit_used_minor,
        "customer": plan.customer.name,
        "account_no": plan.account.account_no,
        "tariff_version_id": plan.version.id,
        "currency": settings.currency,
    }


@dataclass(frozen=True, slots=True)
class _Attempt:
    """Who asks for a sale, under which reference, for what, and when."""

    actor: Actor
    client_key: str
    client_ref: str
    request: PurchaseRequest
    fingerprint: str
    now: datetime
    local: datetime  # ``now`` in the utility's time zone: the sale's month and receipt day

    def fields(self) -> dict[str, Any]:
        """The columns a sale attempt records whatever its outcome: who asked, under which reference,
        and what they tendered."""
        return {
            "client_key": self.client_key,
            "client_ref": self.client_ref,
            "request_hash": self.fingerprint,
            "channel": self.request.channel,
            "payment_method": self.request.payment_method,
            "payment_ref": self.request.payment_reference,
            "org_unit_id": self.actor.org_unit_id,
            "operator_name": self.actor.name,
            "currency": self.request.currency,
            "tender_minor": self.request.amount_minor,
            "created_at": self.now,
        }


async def _record_failure(
    session: AsyncSession, attempt: _Attempt, refusal: VendRefused, settings: Settings
) -> VendOutcome:
    """Remember the refusal under the caller's reference (in the caller's transaction)."""
    vend = Vend(
        **attempt.fields(),
        status="failed",
        failure_code=refusal.code,
        failure_detail=refusal.detail[:400],
        meter_no=normalise_meter_number(attempt.request.meter_number),
        local_month=month_of(attempt.local),
    )
    session.add(vend)
    await session.flush()
    await audit.record(
        session,
        attempt.actor,
        "vend.refused",
        entity_type="vend",
        entity_id=vend.id,
        detail={"ref": attempt.client_ref, "code": refusal.code, "meter_no": vend.meter_no},
    )
    return VendOutcome(vend=vend)


# A cashier's open shift, share-locked by the sale: closing the shift (which locks it for update and
# then adds up its sales) waits for a sale in flight, so a sale is in its shift's cash-up or refused.
_OPEN_SHIFT = Prepared(
    select(Shift.id)
    .where(Shift.user_id == bindparam("user"), Shift.status == "open")
    .with_for_update(read=True)
)


def _sells_in_shifts(actor: Actor) -> bool:
    """Only users holding the cashier role sell in shifts; API clients, agents and supervisors do not."""
    return actor.kind == "user" and actor.id is not None and Role.CASHIER in actor.roles


async def _require_open_shift(session: AsyncSession, actor: Actor) -> None:
    """Refuse a cashier's sale while the cashier has no open shift (not stored under the reference:
    the cashier opens the shift and sends the same reference again)."""
    if not _sells_in_shifts(actor):
        return
    if await _OPEN_SHIFT.first(session, {"user": actor.id}) is None:
        raise VendRefused(
            "no_open_shift",
            "Open your shift before selling: the end-of-shift cash-up needs every sale inside a shift.",
        )


async def purchase(
    session: AsyncSession,
    settings: Settings,
    engine: TokenEngine,
    actor: Actor,
    *,
    client_ref: str,
    request: PurchaseRequest,
    now: datetime | None = None,
    shift_rule: bool = False,
) -> VendOutcome:
    """Sell electricity exactly once per (caller, reference). See the module docstring.

    ``shift_rule``: a cashier sells only inside an open shift (the staff app's rule: the cash-up needs
    every sale inside a shift). Off for callers that sell without shifts (the demo's history, tests).

    One transaction: look the reference up, lock the meter and account, sell (or record the refusal)
    and commit; on PostgreSQL first tried as two statements without locks (module docstring). A
    concurrent duplicate that committed after our look-up makes our INSERT of the same (client_key,
    client_ref) fail on the unique index; the write then rolls back (its tokens were never committed,
    so they never existed) and the stored outcome is replayed.

    At most ``settings.sales_in_flight`` sales of this process are in the database at once (the others
    wait their turn, see ``sale_gate``).
    """
    _validate(request, settings)
    async with sale_gate(settings.sales_in_flight, settings.pg_pool_timeout_seconds):
        now = now or utcnow()
        client_key = client_key_of(actor)
        fingerprint = request.fingerprint()
        digits = normalise_meter_number(request.meter_number)
        params = {
            "digits": digits,
            "at": now,
            "key": client_key,
            "ref": client_ref,
            "station": actor.org_unit_id,
        }
        attempt = _Attempt(
            actor, client_key, client_ref, request, fingerprint, now, now.astimezone(settings.zone)
        )
        try:
            database = _pool_without_locks(session, actor, shift_rule)
            if database is not None:
                outcome = await _sale_without_locks(database, settings, engine, attempt, params)
                if outcome is not None:
                    return outcome
            async with session.begin():
                # One statement: the locked context, the meter's vending key, and whether the reference
                # is already taken. The stored sale is read only when it is, or when the usual context
                # was not found (a refusal may be stored under the reference).
                row = await _SALE_CONTEXT.first(session, params)
                sale = None if row is None else _SaleRow.of(row)
                if sale is None or sale.stored_id is not None:
                    existing = await _existing(session, client_key, client_ref)
                    if existing is not None:
                        return await _replay(session, existing, fingerprint)
                if shift_rule:
                    await _require_open_shift(session, actor)
                try:
                    ctx = (
                        _sale_context_of(row, now)
                        if row is not None
                        else await _context_the_long_way(
                            session, digits, request.meter_number, now, lock=True
                        )
                    )
                    plan = await plan_purchase(session, settings, request, now, context=ctx)
                except VendRefused as refusal:
                    return await _record_failure(session, attempt, refusal, settings)
                if sale is not None:
                    transaction_id, vend_id, station_code = (
                        sale.transaction_id,
                        sale.vend_id,
                        sale.station_code,
                    )
                else:
                    transaction_id, vend_id = await _IDS.one(session)
                    station_code = (
                        None
                        if actor.org_unit_id is None
                        else await _STATION_CODE.scalar(session, {"id": actor.org_unit_id})
                    )
                with _key_read(ctx.meter, row):
                    return await _sell(
                        session,
                        settings,
                        engine,
                        attempt,
                        plan,
                        station_code=station_code,
                        ids=(int(transaction_id), int(vend_id)),
                    )
        except IntegrityError:
            async with session.begin():
                existing = await _existing(session, client_key, client_ref)
                if existing is None:
                    raise
                return await _replay(session, existing, fingerprint)
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) not in _TRY_AGAIN:
                raise
            raise Busy(
                "The sale met another change of the same meter or account and was not made; nothing was "
                "sold. Send the same request again with the same reference.",
                outcome="failed",
            ) from error


# PostgreSQL's deadlock and serialization failures: the database rolled the sale back, and the same
# request succeeds when sent again.
_TRY_AGAIN = frozenset({"40P01", "40001"})


class _Changed(Exception):
    """The meter or account row changed between the sale's read without locks and its write."""


def _pool_without_locks(session: AsyncSession, actor: Actor, shift_rule: bool) -> AsyncEngine | None:
    """The engine whose pool a sale may first try the way without locks on, or None when it may not:
    it may on PostgreSQL, for a seller without shifts (a cashier's sale share-locks the open shift for
    the cash-up, see ``_require_open_shift``), when the session is bound to an engine."""
    database = session.bind
    if not isinstance(database, AsyncEngine) or database.dialect.name != "postgresql":
        return None
    return None if shift_rule and _sells_in_shifts(actor) else database


async def _sale_without_locks(
    database: AsyncEngine, settings: Settings, engine: TokenEngine, attempt: _Attempt, params: dict[str, Any]
) -> VendOutcome | None:
    """The sale as two statements, each committing on its own: the context read without locks, then
    every write in one statement that changes nothing unless the meter and account rows still hold
    what was read (``WriteBatch.require``; the account row keeps the month's totals, so a sale that
    committed meanwhile changed it). No BEGIN, no COMMIT, no lock held between the two, and no
    session: both run on a connection of the pool's (``pooled_connection``).

    None, with nothing written, when the sale must take the locked way: the usual context was not
    found, the reference is taken, a key change is pending, the sale is refused, the chain head is
    missing, the sale is dated before the account's latest month, or the rows changed meanwhile."""
    async with pooled_connection(database) as connection:
        row = await _SALE_CONTEXT_UNLOCKED.first(connection, params)
        if row is None:
            return None
        sale = _SaleRow.of(row)
        if sale.stored_id is not None or not sale.head_present:
            return None
        month = month_of(attempt.local)
        try:
            ctx = _sale_context_of(row, attempt.now)
            totals = month_totals_kept(ctx.account.sales_month, _kept(ctx.account), month)
            if ctx.pending is not None or totals is None:
                return None
            plan = _split(ctx, attempt.request, month, totals)
            with _key_read(ctx.meter, row):
                return await _sell(
                    connection,
                    settings,
                    engine,
                    attempt,
                    plan,
                    station_code=sale.station_code,
                    ids=(sale.transaction_id, sale.vend_id),
                    unchanged=sale.versions,
                )
        except (VendRefused, _Changed):
            return None


async def _sell(
    executor: Executor,
    settings: Settings,
    engine: TokenEngine,
    attempt: _Attempt,
    plan: Plan,
    *,
    station_code: str | None,
    ids: tuple[int, int],
    unchanged: tuple[int, int] | None = None,
) -> VendOutcome:
    """Issue the tokens and write the sale, in the session's transaction or, with ``unchanged``, on a
    pooled connection (``station_code``: the seller's station, the receipt number's prefix, "API" for
    a seller without one; ``ids``: of the ledger transaction and the vend, allocated).

    ``unchanged``: the plan was made from rows read without locks, whose versions (the meter's, the
    account's) are given: the writes are one statement, committed on its own, that writes nothing
    unless both rows are still those versions (else ``_Changed``, and the tokens made were never
    issued)."""
    actor, request, now = attempt.actor, attempt.request, attempt.now
    prefix = station_code or "API"
    b = plan.breakdown
    tokens, last_tid = await _issue_tokens(executor, engine, actor, plan, now)
    taxes: dict[str, int] = {}
    for line in b.lines:
        for tax in line.taxes:
            taxes[tax.name] = taxes.get(tax.name, 0) + tax.minor
    posted = ledger.posting(
        actor,
        kind="vend",
        reference=f"vend:{attempt.client_key}:{attempt.client_ref}",
        description=f"Prepaid purchase, meter {plan.meter.meter_no}, account {plan.account.account_no}",
        org_unit_id=actor.org_unit_id,
        lines=vend_ledger_lines(
            currency=request.currency,
            account_id=plan.account.id,
            payment_method=request.payment_method,
            tender_minor=request.amount_minor,
            credit_used_minor=plan.credit_used_minor,
            debt_minor=b.debt_minor,
            fixed_net_minor=b.fixed_net_minor,
            energy_net_minor=b.energy_net_minor,
            taxes=sorted(taxes.items()),
            change_minor=b.change_minor,
        ),
    )
    values: dict[str, Any] = {
        **attempt.fields(),
        "kind": "purchase",
        "status": "success",
        "failure_code": None,
        "failure_detail": None,
        "meter_no": plan.meter.meter_no,
        "meter_id": plan.meter.id,
        "account_id": plan.account.id,
        "customer_id": plan.customer.id,
        "tariff_version_id": plan.version.id,
        "credit_used_minor": plan.credit_used_minor,
        "debt_recovered_minor": b.debt_minor,
        "fixed_minor": b.fixed_net_minor + b.fixed_tax_minor,
        "tax_minor": b.fixed_tax_minor + b.energy_tax_minor,
        "energy_minor": b.energy_net_minor,
        "change_minor": b.change_minor,
        "energy_wh": b.energy_wh,
        "fbe_wh": b.fbe_wh,
        "local_month": plan.month,
        "receipt": msgspec.json.encode(_receipt(plan, settings)).decode(),
        "confirmed_at": None,
    }
    rows = [
        {
            "meter_id": plan.meter.id,
            "seq": i,
            "kind": t.kind,
            "token": t.digits,
            "subclass": t.subclass,
            "tid": t.tid,
            "units_wh": (t.units_0_1kwh or 0) * 100 if t.kind != "key_change" else 0,
            "description": t.description,
        }
        for i, t in enumerate(tokens, start=1)
    ]
    transaction_id, vend_id = ids
    values["id"], values["ledger_transaction_id"] = vend_id, transaction_id
    rows = [{"vend_id": vend_id, **row} for row in rows]
    # Every write of the sale, in one statement on PostgreSQL (backend.db.batch). The two rows every
    # sale shares, the receipt counter and the audit chain head, are changed by this statement, which
    # computes the receipt number and the event's link from them: they stay locked only until the
    # commit that follows.
    batch = WriteBatch()
    held = (
        []
        if unchanged is None
        else [
            batch.require(Meter, where={"id": plan.meter.id}, equal={ROW_VERSION: unchanged[0]}),
            batch.require(Account, where={"id": plan.account.id}, equal={ROW_VERSION: unchanged[1]}),
        ]
    )
    balance_parts = ledger.add_posting(batch, posted, transaction_id)
    month, totals = plan.month_totals()
    batch.update(
        Account,
        where={"id": plan.account.id},
        values={
            "sales_month": month,
            "month_energy_wh": totals.energy_wh,
            "month_fixed_minor": totals.fixed_minor,
            "month_fbe_wh": totals.fbe_wh,
            "month_debt_recovered_minor": totals.debt_recovered_minor,
        },
    )
    if last_tid is not None:
        batch.update(Meter, where={"id": plan.meter.id}, values={"last_tid": last_tid})
    counter = batch.increment(
        ReceiptCounter, key={"key": receipt_counter_key(prefix, attempt.local)}, column="last"
    )
    start = receipt_number_start(prefix, attempt.local)
    batch.insert(
        Vend, [values], source=counter, computed={"receipt_no": _receipt_no}, computed_params={"start": start}
    )
    batch.insert(VendToken, rows)
    event = audit.add_event(
        batch,
        actor,
        "vend.purchase",
        entity_type="vend",
        entity_id=vend_id,
        detail={
            "ref": attempt.client_ref,
            "meter_no": plan.meter.meter_no,
            "amount_minor": request.amount_minor,
            "energy_wh": b.energy_wh,
            "tokens": len(rows),
        },
        org_unit_id=actor.org_unit_id,
    )
    results = await batch.flush(executor, in_transaction=unchanged is None)
    if any(results[part] is None for part in held):
        raise _Changed
    ledger.check_applied(executor, posted, transaction_id, balance_parts, results)
    (seq,) = results[counter] or (None,)
    values["receipt_no"] = receipt_number(start, int(seq))
    await audit.written(executor, event, results)
    return VendOutcome(vend=detached(Vend, values), tokens=[detached(VendToken, row) for row in rows])


async def find(session: AsyncSession, actor: Actor, client_ref: str) -> VendOutcome:
    """The stored outcome of the caller's reference, or NotFound (it never reached us)."""
    async with session.begin():
        vend = await _existing(session, client_key_of(actor), client_ref)
        if vend is None:
            raise NotFound(
                f"No purchase with reference {client_ref} reached us; it is safe to submit it again."
            )
        return VendOutcome(vend=vend, tokens=await tokens_of(session, vend.id), replayed=True)


async def quote(
    session: AsyncSession, settings: Settings, request: PurchaseRequest, now: datetime | None = None
) -> Plan:
    """A trial purchase: the full breakdown, nothing issued or written."""
    _validate(request, settings)
    async with session.begin():
        return await plan_purchase(session, settings, request, now or utcnow())


async def supply_point_address(session: AsyncSession, supply_point_id: int | None) -> str | None:
    if supply_point_id is None:
        return None
    point = await session.get(SupplyPoint, supply_point_id)
    return None if point is None else point.address
