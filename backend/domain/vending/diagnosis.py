"""Token diagnosis ("the meter rejects my token") and a meter's token history.

The pasted token is read with the meter's key data (and with the key data it had before its most
recent key change) and compared with the tokens we issued. The answer is one verdict in plain words:

* ``typing_error``: not 20 digits, not a number, too large, or it does not decode but one changed
  digit or two swapped neighbours give a token we issued to this meter (the digit is named);
* ``wrong_meter``: it does not decode with this meter's keys (the meter it was issued to is named when
  it is one of ours);
* ``old``: 20 or more newer tokens have been issued to the meter since: its TID memory has moved on and
  it rejects the token as OLD;
* ``used``: we issued exactly this token to this meter and later ones exist: a meter takes each token
  once;
* ``key_change_not_entered``: it is valid only under the new key data of the meter's last key change;
  if the meter rejects it, the key change tokens (listed) were not entered first;
* ``previous_key``: it was made under the key data the meter had before its last key change;
* ``valid``: it decodes fine and nothing above applies (class, subclass, TID date, amount shown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import sts
from backend.domain.actor import Actor
from backend.domain.assets.models import Meter
from backend.domain.assets.service import scoped_meter
from backend.domain.errors import DomainError, InvalidInput
from backend.domain.keys import service as keys
from backend.domain.keys.engine import TokenEngine
from backend.domain.keys.models import MeterKeyChange
from backend.domain.keys.rules import MeterKeyData
from backend.domain.vending.engineering import label
from backend.domain.vending.models import EngineeringToken, Vend, VendToken
from backend.domain.vending.rules import group_token

TID_MEMORY = 20
"""How many TIDs a meter remembers (IEC 62055-41 requires at least 50 for new meters; the meters this
utility runs keep 20): a token more than this many TIDs behind the newest is refused as OLD."""

_KEY_CHANGE_SUBCLASSES = {3: 1, 4: 2, 8: 3, 9: 4}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token we gave out for a meter: from a sale or from an engineering request."""

    token: str
    kind: str
    subclass: int
    tid: int | None
    units_wh: int
    description: str
    issued_at: datetime
    source: str  # "vend" or "engineering"
    reference: str  # receipt number or engineering request id
    meter_id: int
    seq: int = 0


@dataclass(slots=True)
class Diagnosis:
    verdict: str
    title: str
    explanation: str
    token: str
    digit_position: int | None = None
    expected_token: str | None = None
    other_meter_no: str | None = None
    token_class: int | None = None
    subclass: int | None = None
    meaning: str | None = None
    tid: int | None = None
    tid_time: datetime | None = None
    units_wh: int | None = None
    value: int | None = None
    issued: IssuedToken | None = None
    newer_tokens: int = 0
    key_change_tokens: list[str] = field(default_factory=list)


async def issued_tokens(session: AsyncSession, meter_ids: list[int] | None = None) -> list[IssuedToken]:
    """Every token issued for the given meters (all meters: None), oldest first."""
    vq = select(VendToken, Vend.created_at, Vend.receipt_no).join(Vend, Vend.id == VendToken.vend_id)
    eq = select(EngineeringToken).where(EngineeringToken.status == "issued")
    if meter_ids is not None:
        vq = vq.where(VendToken.meter_id.in_(meter_ids))
        eq = eq.where(EngineeringToken.meter_id.in_(meter_ids))
    out: list[IssuedToken] = [
        IssuedToken(
            token=t.token,
            kind=t.kind,
            subclass=t.subclass,
            tid=t.tid,
            units_wh=t.units_wh,
            description=t.description,
            issued_at=at,
            source="vend",
            reference=receipt or f"vend {t.vend_id}",
            meter_id=t.meter_id,
            seq=t.seq,
        )
        for t, at, receipt in (await session.execute(vq)).all()
    ]
    for row in (await session.execute(eq)).scalars():
        for i, item in enumerate(json.loads(row.tokens or "[]"), start=1):
            out.append(
                IssuedToken(
                    token=item["token"],
                    kind=item["kind"],
                    subclass=int(item["subclass"]),
                    tid=item.get("tid"),
                    units_wh=int(item.get("units_wh") or 0),
                    description=item.get("description") or label(row.function),
                    issued_at=row.decided_at or row.created_at,
                    source="engineering",
                    reference=f"ENG-{row.id}",
                    meter_id=row.meter_id,
                    seq=i,
                )
            )
    out.sort(key=lambda t: (t.issued_at, t.reference, t.seq))
    return out


def _clean(text: str) -> str:
    return "".join(text.split()).replace("-", "")


def typing_variants(digits: str) -> dict[str, tuple[int, str]]:
    """Every 20-digit string one typing slip away: one digit changed, or two neighbours swapped.

    Maps the candidate to (1-based position, what happened). Pure.
    """
    out: dict[str, tuple[int, str]] = {}
    for i, ch in enumerate(digits):
        for d in "0123456789":
            if d != ch:
                cand = digits[:i] + d + digits[i + 1 :]
                out.setdefault(cand, (i + 1, f"digit {i + 1} was typed as {ch}; it should be {d}"))
    for i in range(len(digits) - 1):
        if digits[i] != digits[i + 1]:
            cand = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
            out.setdefault(
                cand, (i + 1, f"digits {i + 1} and {i + 2} were swapped ({digits[i]}{digits[i + 1]})")
            )
    return out


async def _explain(
    engine: TokenEngine, data: MeterKeyData | None, digits: str
) -> sts.TokenExplanation | None:
    """The token read with ``data``; None when it does not decode (CRC fails, no key, bad class)."""
    if data is None:
        return None
    try:
        exp = await engine.decode(data, digits)
    except (DomainError, sts.StsError):
        return None
    if exp.crc_ok and exp.error is None and exp.token is not None:
        return exp
    return None


async def _last_change(session: AsyncSession, meter_id: int) -> MeterKeyChange | None:
    return (
        await session.execute(
            select(MeterKeyChange)
            .where(MeterKeyChange.meter_id == meter_id, MeterKeyChange.status == "issued")
            .order_by(MeterKeyChange.issued_at.desc(), MeterKeyChange.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def _previous_data(change: MeterKeyChange, current: MeterKeyData) -> MeterKeyData:
    return MeterKeyData(
        iin=current.iin,
        drn=current.drn,
        sgc=change.old_sgc,
        ti=change.old_ti,
        krn=change.old_krn,
        kt=change.old_kt,
        ea=current.ea,
        dkga=current.dkga,
        base_date=change.old_base_date,
        ken=change.old_ken,
    )


def _fill(diag: Diagnosis, exp: sts.TokenExplanation, base_date: int) -> None:
    diag.token_class = exp.token_class
    diag.subclass = exp.subclass
    fields = exp.fields
    diag.meaning = str(fields.get("meaning") or fields.get("function") or "")
    if exp.token_class == 1:
        diag.meaning = "test / display"
        diag.value = int(fields.get("control", 0))
    tid = fields.get("tid")
    if isinstance(tid, int):
        diag.tid = tid
        try:
            diag.tid_time = sts.datetime_from_tid(tid, base_date)
        except sts.StsError:
            diag.tid_time = None
    if exp.token_class == 0 and isinstance(fields.get("amount"), int) and (exp.subclass or 0) < 4:
        diag.units_wh = int(fields["amount"]) * 100
    if exp.token_class == 2 and "value" in fields:
        diag.value = int(fields["value"])
    if exp.token_class == 2 and exp.subclass in _KEY_CHANGE_SUBCLASSES:
        diag.meaning = f"key change token, section {_KEY_CHANGE_SUBCLASSES[exp.subclass]}"


def _describe(diag: Diagnosis, zone: Any) -> str:
    parts = [f"class {diag.token_class} subclass {diag.subclass}"]
    if diag.meaning:
        parts.append(diag.meaning.replace("_", " ").lower())
    if diag.units_wh is not None:
        parts.append(f"{diag.units_wh / 1000:.1f} kWh")
    elif diag.value is not None:
        parts.append(f"value {diag.value}")
    if diag.tid_time is not None:
        parts.append(f"made {diag.tid_time.astimezone(zone):%Y-%m-%d %H:%M} (TID {diag.tid})")
    return ", ".join(parts)


async def diagnose(
    session: AsyncSession, engine: TokenEngine, actor: Actor, meter_id: int, token: str, zone: Any
) -> Diagnosis:
    """Explain why a pasted token may have been rejected by this meter (see the module docstring)."""
    digits = _clean(token)
    async with session.begin():
        meter = await scoped_meter(session, actor, meter_id)
        if meter.sgc is None:
            raise InvalidInput(f"Meter {meter.meter_no} does not take STS tokens.")
        if not digits.isdigit():
            bad = sorted({c for c in digits if not c.isdigit()})
            return Diagnosis(
                "typing_error",
                "Not a number",
                f"A token has only digits; this one contains {' '.join(repr(c) for c in bad) or 'nothing'}. "
                "Check the receipt and type the 20 digits again.",
                digits,
            )
        if len(digits) != 20:
            return Diagnosis(
                "typing_error",
                "Wrong number of digits",
                f"A token has 20 digits; this one has {len(digits)}. A digit was "
                f"{'left out' if len(digits) < 20 else 'typed twice'}: check it against the receipt.",
                digits,
            )
        mine = await issued_tokens(session, [meter.id])
        current = keys.meter_key_data(meter)
        change = await _last_change(session, meter.id)
        previous = _previous_data(change, current) if change else None
        if int(digits) >= 1 << 66:
            exp_now = exp_prev = None
        else:
            exp_now = await _explain(engine, current, digits)
            exp_prev = None if exp_now else await _explain(engine, previous, digits)
        if exp_now is None and exp_prev is None:
            return await _undecodable(session, meter, digits, mine)
        exp = exp_now or exp_prev
        assert exp is not None
        data = current if exp_now else previous
        assert data is not None
        diag = Diagnosis("valid", "", "", group_token(digits))
        _fill(diag, exp, data.base_date)
        what = _describe(diag, zone)
        diag.issued = next((t for t in mine if t.token == digits), None)
        if exp.token_class == 1:
            diag.title = "Test / display token"
            diag.explanation = (
                f"A meter test token ({what}). It is not encrypted and carries no TID; any meter of the "
                "manufacturer accepts it."
            )
            return diag
        if diag.tid is None:
            diag.title = "Key change token"
            diag.explanation = (
                f"This is a key change token ({what}). Enter all key change tokens of the set in order, "
                "then the credit token that came with them."
            )
            return diag
        # Tokens made under the same key data: after the last key change set (current key data) or
        # before it (previous key data). A sale hands out the set before its credit token.
        start, end = _last_set(mine)
        if change is None:
            epoch = [t for t in mine if t.tid is not None]
        else:
            epoch = [t for t in (mine[end:] if exp_now else mine[:start]) if t.tid is not None]
        diag.newer_tokens = sum(1 for t in epoch if t.tid is not None and t.tid > diag.tid)
        if diag.newer_tokens >= TID_MEMORY:
            diag.verdict, diag.title = "old", "Older than the meter's memory"
            diag.explanation = (
                f"{diag.newer_tokens} newer tokens have been issued to meter {meter.meter_no} since this one "
                f"({what}). The meter remembers only the last {TID_MEMORY}, so it rejects this token as OLD. "
                "It cannot be used any more."
            )
            return diag
        if diag.issued is not None and diag.newer_tokens > 0:
            diag.verdict, diag.title = "used", "Already used"
            diag.explanation = (
                f"We issued this token to meter {meter.meter_no} on "
                f"{diag.issued.issued_at.astimezone(zone):%Y-%m-%d %H:%M} ({diag.issued.reference}) and "
                f"{diag.newer_tokens} later token(s) since. A meter accepts each token once: if it says "
                "USED, the token was already entered."
            )
            return diag
        if exp_prev is not None and change is not None:
            diag.verdict, diag.title = "previous_key", "Made for the meter's previous key"
            diag.explanation = (
                f"This token ({what}) was made under the key data meter {meter.meter_no} had before its key "
                f"change{_on(change, zone)}. If the key change tokens were already entered, the meter no "
                "longer accepts it; if they were not, enter this token first and then the key change tokens."
            )
            return diag
        if change is not None and (diag.issued is None or diag.issued in mine[end:]):
            diag.key_change_tokens = [t.token for t in mine[start:end]]
            if diag.key_change_tokens:
                diag.verdict, diag.title = "key_change_not_entered", "Key change not yet entered"
                listing = "; ".join(group_token(t) for t in diag.key_change_tokens)
                diag.explanation = (
                    f"This token ({what}) is valid for the meter's new key data, set by the key change "
                    f"issued{_on(change, zone)}. If the meter rejects it, the key change tokens were not "
                    f"entered: enter them first, in this order: {listing}; then this token again."
                )
                return diag
        diag.title = "Valid and not yet seen by us as used"
        diag.explanation = (
            f"The token is valid for meter {meter.meter_no}: {what}. No newer token has been issued, so the "
            "meter should accept it; check it is entered on this meter, completely, then press enter."
        )
        return diag


def _on(change: MeterKeyChange, zone: Any) -> str:
    return f" on {change.issued_at.astimezone(zone):%Y-%m-%d %H:%M}" if change.issued_at else ""


def _last_set(mine: list[IssuedToken]) -> tuple[int, int]:
    """[start, end) of the last key change set among the meter's tokens (oldest first)."""
    last = max((i for i, t in enumerate(mine) if t.kind == "key_change"), default=None)
    if last is None:
        return len(mine), len(mine)
    ref = (mine[last].source, mine[last].reference)
    start = last
    while (
        start > 0
        and mine[start - 1].kind == "key_change"
        and (mine[start - 1].source, mine[start - 1].reference) == ref
    ):
        start -= 1
    return start, last + 1


async def _undecodable(
    session: AsyncSession, meter: Meter, digits: str, mine: list[IssuedToken]
) -> Diagnosis:
    slips = typing_variants(digits)
    for issued in reversed(mine):
        slip = slips.get(issued.token)
        if slip is not None:
            position, what = slip
            return Diagnosis(
                "typing_error",
                "Typing error",
                f"The token does not check out, but it is one slip away from a token we issued to meter "
                f"{meter.meter_no} ({issued.reference}): {what}. "
                f"The right token is {group_token(issued.token)}.",
                group_token(digits),
                digit_position=position,
                expected_token=issued.token,
                issued=issued,
            )
    if int(digits) >= 1 << 66:
        return Diagnosis(
            "typing_error",
            "Number too large",
            "This 20-digit number is larger than any token can be (tokens are below 73786976294838206464); "
            "a digit is wrong, most likely one of the first ones.",
            digits,
        )
    others = await _issued_elsewhere(session, meter.id, digits)
    if others:
        other_meter_no = others[0]
        return Diagnosis(
            "wrong_meter",
            "Token for another meter",
            f"This token does not fit meter {meter.meter_no}: we issued it to meter {other_meter_no}. "
            "Enter it on that meter, or check which meter number the customer bought for.",
            group_token(digits),
            other_meter_no=other_meter_no,
        )
    return Diagnosis(
        "wrong_meter",
        "Not a token for this meter",
        f"The token does not decode with meter {meter.meter_no}'s keys and we have no record of issuing it "
        "(nor anything one typing slip away from it). It was made for another meter, by another vendor, or "
        "it is mistyped in several places: check the meter number on the receipt.",
        group_token(digits),
    )


async def _issued_elsewhere(session: AsyncSession, meter_id: int, digits: str) -> list[str]:
    """Meter numbers of other meters we issued exactly this token to."""
    found = (
        await session.execute(
            select(Meter.meter_no)
            .join(VendToken, VendToken.meter_id == Meter.id)
            .where(VendToken.token == digits, VendToken.meter_id != meter_id)
        )
    ).scalars()
    numbers = list(found)
    rows = (
        await session.execute(
            select(Meter.meter_no)
            .join(EngineeringToken, EngineeringToken.meter_id == Meter.id)
            .where(EngineeringToken.tokens.contains(f'"{digits}"'), EngineeringToken.meter_id != meter_id)
        )
    ).scalars()
    numbers.extend(rows)
    return numbers


# -- history -------------------------------------------------------------------------------------------


async def token_history(
    session: AsyncSession, actor: Actor, meter_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[list[IssuedToken], int]:
    """The meter's tokens (sales and engineering), newest first.

    One meter holds a few hundred tokens at most over its life, so both sources are read and merged
    here and the page is cut from the merged list.
    """
    async with session.begin():
        await scoped_meter(session, actor, meter_id)
        everything = await issued_tokens(session, [meter_id])
    everything.reverse()
    return everything[offset : offset + limit], len(everything)
