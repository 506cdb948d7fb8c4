"""Customer and account use cases: registration, accounts and their lifecycle, change of tenancy, search.

Search terms (``customer_search_terms``) are rebuilt for a customer in the same transaction as every
change to the customer or its accounts, so a search never disagrees with committed data.

Contract for the assets context: after installing or removing a meter at a supply point, call
``index_meter_for_supply_point(session, supply_point_id)`` inside that same transaction; it re-indexes
the customers of every account (open or closed) at that supply point, so they are found by the number
of the meter installed there now.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from backend.db.types import utcnow
from backend.domain.actor import Actor
from backend.domain.assets.models import Meter
from backend.domain.audit import service as audit
from backend.domain.customers.models import Account, Customer, SearchTerm
from backend.domain.customers.rules import (
    ACCOUNT_NO_PREFIX,
    CATEGORIES,
    CHANGE_OF_TENANCY,
    CUSTOMER_KINDS,
    CUSTOMER_NO_PREFIX,
    LANGUAGES,
    NUMBER_DIGITS,
    PhoneError,
    build_terms,
    close_problem,
    email_problem,
    next_number,
    payment_mode_problem,
    prefix_range,
    query_tokens,
    transition_problem,
)
from backend.domain.customers.rules import normalise_phone as _normalise_phone
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.network.models import SupplyPoint
from backend.domain.network.service import UNCHANGED, owning_unit, scope_clause
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs.models import Tariff

SEARCH_LIMIT = 20
_CANDIDATES = 60  # top 20 are returned; exact matches sort first in term order


def normalise_phone(raw: str | None, country_code: str) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return _normalise_phone(raw, country_code)
    except PhoneError as exc:
        raise InvalidInput(str(exc)) from None


def customer_snapshot(c: Customer) -> dict[str, Any]:
    return {
        "customer_no": c.customer_no,
        "kind": c.kind,
        "name": c.name,
        "id_number": c.id_number,
        "phone": c.phone,
        "phone2": c.phone2,
        "email": c.email,
        "language": c.language,
        "category": c.category,
        "postal_address": c.postal_address,
        "org_unit_id": c.org_unit_id,
    }


def account_snapshot(a: Account) -> dict[str, Any]:
    return {
        "account_no": a.account_no,
        "customer_id": a.customer_id,
        "supply_point_id": a.supply_point_id,
        "tariff_id": a.tariff_id,
        "payment_mode": a.payment_mode,
        "status": a.status,
        "org_unit_id": a.org_unit_id,
        "currency": a.currency,
        "fbe_eligible": a.fbe_eligible,
        "credit_minor": a.credit_minor,
        "debt_minor": a.debt_minor,
        "close_reason": a.close_reason,
        "previous_account_id": a.previous_account_id,
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    changed = [k for k in after if before.get(k) != after[k]]
    return {"before": {k: before.get(k) for k in changed}, "after": {k: after[k] for k in changed}}


async def _next_number(session: AsyncSession, column: Any, prefix: str) -> str:
    """The next free customer or account number, safe against concurrent writers on both databases.

    SQLite runs every transaction as BEGIN IMMEDIATE (one writer at a time); on PostgreSQL a
    transaction-scoped advisory lock per number series orders the writers until they commit.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(f"gridvend:{prefix}".encode())}
        )
    # Only numbers of our own form count (prefix + 8 digits): numbers taken over from an older
    # system ("CW000001", "ACC/2019/7") keep their place and never break the series.
    ours = (
        await session.execute(
            select(column)
            .where(
                column.like(prefix + "_" * NUMBER_DIGITS),
                func.length(column) == len(prefix) + NUMBER_DIGITS,
            )
            .order_by(column.desc())
            .limit(50)
        )
    ).scalars()
    highest = next((n for n in ours if n[len(prefix) :].isdigit()), None)
    return next_number(prefix, highest)


# ------------------------------------------------------------------ search index


async def reindex_customers(session: AsyncSession, customer_ids: Iterable[int]) -> None:
    """Rebuild the search terms of these customers from their current rows (caller's transaction)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    await session.flush()
    customers = (await session.execute(select(Customer).where(Customer.id.in_(ids)))).scalars().all()
    accounts = (
        await session.execute(
            select(Account.customer_id, Account.account_no).where(Account.customer_id.in_(ids))
        )
    ).all()
    meters = (
        await session.execute(
            select(Account.customer_id, Meter.meter_no)
            .join(Meter, Meter.supply_point_id == Account.supply_point_id)
            .where(Account.customer_id.in_(ids), Meter.status == "installed")
        )
    ).all()
    account_nos: dict[int, list[str]] = {}
    for cid, number in accounts:
        account_nos.setdefault(cid, []).append(number)
    meter_nos: dict[int, list[str]] = {}
    for cid, number in meters:
        meter_nos.setdefault(cid, []).append(number)
    await session.execute(delete(SearchTerm).where(SearchTerm.customer_id.in_(ids)))
    rows = [
        {"customer_id": c.id, "term": term, "kind": kind}
        for c in customers
        for term, kind in sorted(
            build_terms(
                name=c.name,
                customer_no=c.customer_no,
                phones=(c.phone, c.phone2),
                id_number=c.id_number,
                account_nos=account_nos.get(c.id, ()),
                meter_nos=meter_nos.get(c.id, ()),
            )
        )
    ]
    if rows:
        await session.execute(insert(SearchTerm), rows)


async def index_meter_for_supply_point(session: AsyncSession, supply_point_id: int) -> None:
    """Called by the assets context after a meter is installed at or removed from a supply point.

    Runs inside the caller's transaction (it neither begins nor commits). Every customer with an
    account (open or closed) at the supply point is re-indexed, so searching the meter number finds
    the current tenant (and earlier ones, who may still owe money) and a removed meter no longer does.
    """
    customer_ids = (
        await session.execute(select(Account.customer_id).where(Account.supply_point_id == supply_point_id))
    ).scalars()
    await reindex_customers(session, list(customer_ids))


# ------------------------------------------------------------------ customers


def _check_customer_fields(*, kind: str, name: str, email: str | None, language: str, category: str) -> None:
    problem = None
    if kind not in CUSTOMER_KINDS:
        problem = "A customer is a person or a company."
    elif not name.strip():
        problem = "A customer needs a name."
    elif language not in LANGUAGES:
        problem = f"Language must be one of {', '.join(LANGUAGES)}, not '{language}'."
    elif category not in CATEGORIES:
        problem = f"Category must be residential, commercial or industrial, not '{category}'."
    elif email is not None:
        problem = email_problem(email)
    if problem:
        raise InvalidInput(problem)


async def create_customer(
    session: AsyncSession,
    actor: Actor,
    *,
    country_code: str,
    name: str,
    org_unit_id: int | None = None,
    kind: str = "person",
    id_number: str | None = None,
    phone: str | None = None,
    phone2: str | None = None,
    email: str | None = None,
    language: str = "en",
    category: str = "residential",
    postal_address: str | None = None,
) -> Customer:
    """Register a customer in ``org_unit_id`` (default: the actor's own unit when it is a region/station)."""
    email = (email or "").strip() or None
    _check_customer_fields(kind=kind, name=name, email=email, language=language, category=category)
    phone_e164 = normalise_phone(phone, country_code)
    phone2_e164 = normalise_phone(phone2, country_code)
    unit_id = org_unit_id if org_unit_id is not None else actor.org_unit_id
    if unit_id is None:
        raise InvalidInput("Say which region or station the customer belongs to (org_unit_id).")
    async with session.begin():
        await owning_unit(session, actor, unit_id)
        customer = Customer(
            customer_no=await _next_number(session, Customer.customer_no, CUSTOMER_NO_PREFIX),
            kind=kind,
            name=" ".join(name.split()),
            id_number=(id_number or "").strip() or None,
            phone=phone_e164,
            phone2=phone2_e164,
            email=email,
            language=language,
            category=category,
            postal_address=(postal_address or "").strip() or None,
            org_unit_id=unit_id,
        )
        session.add(customer)
        await session.flush()
        await reindex_customers(session, [customer.id])
        await audit.record(
            session,
            actor,
            "customer.create",
            entity_type="customer",
            entity_id=customer.id,
            detail={"before": None, "after": customer_snapshot(customer)},
            org_unit_id=unit_id,
        )
    return customer


async def _customer_in_scope(
    session: AsyncSession, actor: Actor, customer_id: int, *, lock: bool = False
) -> Customer:
    query = select(Customer).where(Customer.id == customer_id, scope_clause(Customer.org_unit_id, actor))
    if lock:
        query = query.with_for_update()
    customer = (await session.execute(query)).scalar_one_or_none()
    if customer is None:
        raise NotFound(f"Customer {customer_id} does not exist.")
    return customer


async def update_customer(
    session: AsyncSession, actor: Actor, customer_id: int, *, country_code: str, **changes: Any
) -> Customer:
    """Change a customer's details; only the given fields change (``None`` clears an optional one)."""
    allowed = {
        "kind",
        "name",
        "id_number",
        "phone",
        "phone2",
        "email",
        "language",
        "category",
        "postal_address",
        "org_unit_id",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    async with session.begin():
        customer = await _customer_in_scope(session, actor, customer_id, lock=True)
        before = customer_snapshot(customer)
        values = {**before, **changes}
        email = (values["email"] or "").strip() or None
        _check_customer_fields(
            kind=values["kind"],
            name=values["name"],
            email=email,
            language=values["language"],
            category=values["category"],
        )
        if "org_unit_id" in changes and changes["org_unit_id"] != customer.org_unit_id:
            if changes["org_unit_id"] is None:
                raise InvalidInput("A customer must belong to a region or station.")
            await owning_unit(session, actor, changes["org_unit_id"])
            customer.org_unit_id = changes["org_unit_id"]
        customer.kind = values["kind"]
        customer.name = " ".join(values["name"].split())
        customer.id_number = (values["id_number"] or "").strip() or None
        if "phone" in changes:
            customer.phone = normalise_phone(changes["phone"], country_code)
        if "phone2" in changes:
            customer.phone2 = normalise_phone(changes["phone2"], country_code)
        customer.email = email
        customer.language = values["language"]
        customer.category = values["category"]
        customer.postal_address = (values["postal_address"] or "").strip() or None
        after = customer_snapshot(customer)
        if after != before:
            customer.updated_at = utcnow()
            await reindex_customers(session, [customer.id])
            await audit.record(
                session,
                actor,
                "customer.update",
                entity_type="customer",
                entity_id=customer.id,
                detail=_changes(before, after),
                org_unit_id=customer.org_unit_id,
            )
    return customer


@dataclass(frozen=True, slots=True)
class AccountView:
    account: Account
    supply_point: SupplyPoint
    tariff: Tariff
    customer: Customer
    meter: Meter | None = None  # installed at the supply point (open accounts only)


async def _account_views(session: AsyncSession, condition: Any, *, order: Any = None) -> list[AccountView]:
    query = (
        select(Account, SupplyPoint, Tariff, Customer, Meter)
        .join(SupplyPoint, SupplyPoint.id == Account.supply_point_id)
        .join(Tariff, Tariff.id == Account.tariff_id)
        .join(Customer, Customer.id == Account.customer_id)
        .outerjoin(
            Meter,
            (Meter.supply_point_id == Account.supply_point_id)
            & (Meter.status == "installed")
            & (Account.status != "closed"),
        )
        .where(condition)
        .order_by(order if order is not None else Account.id)
    )
    return [AccountView(*row) for row in (await session.execute(query)).all()]


async def get_customer(
    session: AsyncSession, actor: Actor, customer_id: int
) -> tuple[Customer, list[AccountView]]:
    customer = await _customer_in_scope(session, actor, customer_id)
    return customer, await _account_views(session, Account.customer_id == customer.id)


async def list_customers(
    session: AsyncSession,
    actor: Actor,
    *,
    category: str | None = None,
    kind: str | None = None,
    account_status: str | None = None,
    org_unit_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Customer], int]:
    query = select(Customer).where(scope_clause(Customer.org_unit_id, actor))
    if category:
        query = query.where(Customer.category == category)
    if kind:
        query = query.where(Customer.kind == kind)
    if org_unit_id is not None:
        query = query.where(Customer.org_unit_id == org_unit_id)
    if account_status:
        query = query.where(
            exists().where(Account.customer_id == Customer.id, Account.status == account_status)
        )
    total = (await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await session.execute(query.order_by(Customer.customer_no).limit(limit).offset(offset))
    return list(rows.scalars().all()), int(total)


# ------------------------------------------------------------------ accounts


async def _account_in_scope(
    session: AsyncSession, actor: Actor, account_id: int, *, lock: bool = False
) -> Account:
    query = select(Account).where(Account.id == account_id, scope_clause(Account.org_unit_id, actor))
    if lock:
        query = query.with_for_update()
    account = (await session.execute(query)).scalar_one_or_none()
    if account is None:
        raise NotFound(f"Account {account_id} does not exist.")
    return account


async def get_account(session: AsyncSession, actor: Actor, account_id: int) -> AccountView:
    account = await _account_in_scope(session, actor, account_id)
    return (await _account_views(session, Account.id == account.id))[0]


async def list_accounts(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: int | None = None,
    supply_point_id: int | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AccountView], int]:
    condition = scope_clause(Account.org_unit_id, actor)
    if customer_id is not None:
        condition = condition & (Account.customer_id == customer_id)
    if supply_point_id is not None:
        condition = condition & (Account.supply_point_id == supply_point_id)
    if status:
        condition = condition & (Account.status == status)
    total = (await session.execute(select(func.count()).select_from(Account).where(condition))).scalar_one()
    ids = (
        (
            await session.execute(
                select(Account.id).where(condition).order_by(Account.account_no).limit(limit).offset(offset)
            )
        )
        .scalars()
        .all()
    )
    views = await _account_views(session, Account.id.in_(ids), order=Account.account_no) if ids else []
    return views, int(total)


async def _tariff_for(session: AsyncSession, tariff_id: int, payment_mode: str) -> Tariff:
    tariff = await session.get(Tariff, tariff_id)
    if tariff is None:
        raise InvalidInput(f"Tariff {tariff_id} does not exist.")
    problem = payment_mode_problem(tariff.payment_mode, payment_mode)
    if problem:
        raise InvalidInput(problem)
    return tariff


async def _open_account_in_tx(
    session: AsyncSession,
    actor: Actor,
    *,
    customer: Customer,
    supply_point_id: int,
    tariff_id: int,
    payment_mode: str,
    fbe_eligible: bool,
    status: str,
    previous_account_id: int | None = None,
) -> Account:
    point = (
        await session.execute(
            select(SupplyPoint)
            .where(SupplyPoint.id == supply_point_id, scope_clause(SupplyPoint.org_unit_id, actor))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if point is None:
        raise NotFound(f"Supply point {supply_point_id} does not exist.")
    if not point.active:
        raise InvalidInput(f"The supply point '{point.code}' is deactivated.")
    tariff = await _tariff_for(session, tariff_id, payment_mode)
    existing = (
        await session.execute(
            select(Account.account_no).where(Account.supply_point_id == point.id, Account.status != "closed")
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise _open_account_conflict(point.code, existing)
    now = utcnow()
    account = Account(
        account_no=await _next_number(session, Account.account_no, ACCOUNT_NO_PREFIX),
        customer_id=customer.id,
        supply_point_id=point.id,
        tariff_id=tariff.id,
        payment_mode=payment_mode,
        status=status,
        org_unit_id=point.org_unit_id,
        currency=tariff.currency,
        fbe_eligible=fbe_eligible,
        opened_at=now if status == "active" else None,
        previous_account_id=previous_account_id,
    )
    session.add(account)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        # Another transaction opened an account here between our check and our insert.
        raise _open_account_conflict(point.code, None) from None
    return account


def _open_account_conflict(point_code: str, existing: str | None) -> Conflict:
    which = f" ({existing})" if existing else ""
    return Conflict(
        f"The supply point '{point_code}' already has an open account{which}. Close it first, or use "
        "change of tenancy to move the supply point to a new customer."
    )


async def open_account(
    session: AsyncSession,
    actor: Actor,
    *,
    customer_id: int,
    supply_point_id: int,
    tariff_id: int,
    payment_mode: str,
    fbe_eligible: bool = False,
) -> Account:
    """Open an account (status ``applied``) for a customer at a supply point; one open account per point."""
    async with session.begin():
        customer = await _customer_in_scope(session, actor, customer_id)
        account = await _open_account_in_tx(
            session,
            actor,
            customer=customer,
            supply_point_id=supply_point_id,
            tariff_id=tariff_id,
            payment_mode=payment_mode,
            fbe_eligible=fbe_eligible,
            status="applied",
        )
        await reindex_customers(session, [customer.id])
        await audit.record(
            session,
            actor,
            "account.open",
            entity_type="account",
            entity_id=account.id,
            detail={"before": None, "after": account_snapshot(account)},
            org_unit_id=account.org_unit_id,
        )
    return account


def _apply_transition(account: Account, target: str, *, reason: str | None, note: str | None) -> None:
    problem = transition_problem(account.status, target)
    if problem:
        raise Conflict(problem)
    now = utcnow()
    if target == "closed":
        problem = close_problem(account.credit_minor, note)
        if problem:
            raise InvalidInput(problem)
        account.closed_at = now
        account.close_reason = (reason or "closed").strip()[:200] or "closed"
    if target == "active" and account.opened_at is None:
        account.opened_at = now
    account.status = target
    account.updated_at = now


async def set_account_status(
    session: AsyncSession,
    actor: Actor,
    account_id: int,
    *,
    status: str,
    reason: str | None = None,
    note: str | None = None,
) -> Account:
    """Move an account along its lifecycle (see ``rules.TRANSITIONS``).

    Closing: an account holding credit closes only with a ``note`` saying how the credit is settled;
    credit and debt stay on the closed account, visible, and are never moved silently.
    """
    async with session.begin():
        account = await _account_in_scope(session, actor, account_id, lock=True)
        before = account_snapshot(account)
        _apply_transition(account, status, reason=reason, note=note)
        await audit.record(
            session,
            actor,
            f"account.{'close' if status == 'closed' else status if status != 'active' else 'activate'}",
            entity_type="account",
            entity_id=account.id,
            detail={**_changes(before, account_snapshot(account)), "reason": reason, "note": note},
            org_unit_id=account.org_unit_id,
        )
    return account


async def change_tenancy(
    session: AsyncSession,
    actor: Actor,
    account_id: int,
    *,
    new_customer_id: int,
    tariff_id: int | None = None,
    payment_mode: str | None = None,
    fbe_eligible: bool = False,
    note: str | None = None,
) -> tuple[Account, Account]:
    """Close an account (reason "change of tenancy") and open the next, active, for the new customer.

    The supply point and its installed meter stay. The old account keeps its balances: its debt is
    NOT moved to the new tenant, and credit needs a ``note`` saying how it will be settled. The new
    account links to the old one (``previous_account_id``) and takes the old tariff and payment mode
    unless others are given.
    """
    async with session.begin():
        old = await _account_in_scope(session, actor, account_id, lock=True)
        if old.status == "closed":
            raise Conflict("The account is already closed; open a new account at the supply point instead.")
        if old.customer_id == new_customer_id:
            raise InvalidInput("Change of tenancy needs a different customer than the current one.")
        new_customer = await _customer_in_scope(session, actor, new_customer_id)
        before = account_snapshot(old)
        _apply_transition(old, "closed", reason=CHANGE_OF_TENANCY, note=note)
        await session.flush()
        new = await _open_account_in_tx(
            session,
            actor,
            customer=new_customer,
            supply_point_id=old.supply_point_id,
            tariff_id=tariff_id if tariff_id is not None else old.tariff_id,
            payment_mode=payment_mode or old.payment_mode,
            fbe_eligible=fbe_eligible,
            status="active",
            previous_account_id=old.id,
        )
        await reindex_customers(session, [old.customer_id, new_customer.id])
        await audit.record(
            session,
            actor,
            "account.close",
            entity_type="account",
            entity_id=old.id,
            detail={**_changes(before, account_snapshot(old)), "reason": CHANGE_OF_TENANCY, "note": note},
            org_unit_id=old.org_unit_id,
        )
        await audit.record(
            session,
            actor,
            "account.change_of_tenancy",
            entity_type="account",
            entity_id=new.id,
            detail={
                "before": None,
                "after": account_snapshot(new),
                "previous_account_no": old.account_no,
                "previous_customer_id": old.customer_id,
                "debt_left_on_previous_minor": old.debt_minor,
                "credit_left_on_previous_minor": old.credit_minor,
            },
            org_unit_id=new.org_unit_id,
        )
    return old, new


# ------------------------------------------------------------------ search


@dataclass(frozen=True, slots=True)
class SearchHit:
    customer: Customer
    matched: str  # the kind of term that matched: name, phone, account, meter, customer_no, id_number
    accounts: list[AccountView]


async def _scope_units(session: AsyncSession, actor: Actor) -> list[int] | None:
    """The org unit ids in the actor's scope (None: everything)."""
    if actor.org_path == "/":
        return None
    if actor.org_path is None:
        return []
    rows = await session.execute(select(OrgUnit.id).where(OrgUnit.path.startswith(actor.org_path)))
    return list(rows.scalars().all())


async def _candidates(
    session: AsyncSession, tokens: list[set[str]], units: list[int] | None
) -> dict[int, tuple[bool, str]]:
    """customer id → (exact match?, kind) for customers matching every token (one of its prefixes).

    The first token drives: a range scan on the term index in term order, stopped by LIMIT. The other
    tokens and the org scope are checked per candidate row (correlated EXISTS on indexed columns), so
    the database never reads all customers of a common name or of a whole region.
    """
    found: dict[int, tuple[bool, str]] = {}
    others = []
    for alternatives in tokens[1:]:
        other = aliased(SearchTerm)
        others.append(
            exists().where(
                other.customer_id == SearchTerm.customer_id,
                or_(*(other.term.between(*prefix_range(p)) for p in sorted(alternatives))),
            )
        )
    if units is not None:
        others.append(
            exists().where(Customer.id == SearchTerm.customer_id, Customer.org_unit_id.in_(units or [-1]))
        )
    for prefix in sorted(tokens[0]):
        low, high = prefix_range(prefix)
        query = (
            select(SearchTerm.customer_id, SearchTerm.term, SearchTerm.kind)
            .where(SearchTerm.term >= low, SearchTerm.term <= high, *others)
            .order_by(SearchTerm.term)
            .limit(_CANDIDATES)
        )
        for cid, term, kind in (await session.execute(query)).all():
            exact = term == prefix
            if cid not in found or (exact and not found[cid][0]):
                found[cid] = (exact, kind)
    return found


async def search(
    session: AsyncSession, actor: Actor, query: str, *, country_code: str, limit: int = SEARCH_LIMIT
) -> list[SearchHit]:
    """Find customers by name words (prefixes, any order, accents folded), phone (any usual format),
    account, meter, customer or ID number. Exact matches first, then by name; at most ``limit``."""
    tokens = query_tokens(query, country_code)
    if not tokens:
        return []
    # The longest token is the most selective: it drives, the others filter its candidates.
    tokens.sort(key=lambda alts: -max(len(a) for a in alts))
    found = await _candidates(session, tokens, await _scope_units(session, actor))
    ids = list(found)
    if not ids:
        return []
    customers = {
        c.id: c for c in (await session.execute(select(Customer).where(Customer.id.in_(ids)))).scalars().all()
    }
    ranked = sorted(
        ids, key=lambda i: (not found[i][0], customers[i].name.casefold(), customers[i].customer_no)
    )
    top = ranked[:limit]
    views = await _account_views(session, Account.customer_id.in_(top), order=Account.account_no)
    by_customer: dict[int, list[AccountView]] = {}
    for view in views:
        by_customer.setdefault(view.account.customer_id, []).append(view)
    return [
        SearchHit(customer=customers[i], matched=found[i][1], accounts=by_customer.get(i, [])) for i in top
    ]


__all__ = ["UNCHANGED", "index_meter_for_supply_point", "reindex_customers", "search"]
