"""Tariff structures and the pure money/energy arithmetic the vending and billing contexts call.

The structure of a tariff version lives in ``TariffVersion.components`` as JSON; ``parse_structure``
decodes and validates it into a :class:`Structure` and ``encode_structure`` writes it back. Rates
are exact decimal strings (``"18.50"``) in MAJOR currency units per kWh (per kVA for demand);
fixed amounts, tenders and every computed amount are integers in MINOR units (cents).

THE ROUNDING RULE (one rule, everywhere in this module):

    Work in ``Decimal``; round every money line to minor units with ``ROUND_HALF_UP``, once, on the
    line itself (an energy block line, each tax on a line, a fixed charge's tax, a demand or power
    factor line). Totals are sums of rounded lines, so every breakdown adds up exactly.
    Energy is an integer number of Wh; STS tokens carry whole 0.1 kWh (100 Wh), so prepaid energy is
    rounded DOWN to 100 Wh and the unspent money is returned as ``change_minor`` (account credit).

Taxes and levies are each computed on the NET amount of the lines they apply to (they do not
compound). ``applies_to="energy"`` covers energy, demand and power-factor lines; ``"fixed"`` covers
taxable fixed charges; ``"all"`` both. A per-kWh levy applies to energy lines only.

Pure: no web framework, no database. Everything raises :class:`TariffRuleError` subclasses with a
message for a person.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

import msgspec

# --------------------------------------------------------------------------------------------------
# Errors


class TariffRuleError(ValueError):
    """A tariff structure or a calculation request is not acceptable (message is for a person)."""


class InvalidStructure(TariffRuleError):
    """The components document is malformed or breaks a rule (the message names the component)."""


class TenderOutOfRange(TariffRuleError):
    """The tender is below the tariff's minimum or above its maximum purchase."""

    def __init__(self, message: str, *, minimum_minor: int | None, maximum_minor: int | None) -> None:
        super().__init__(message)
        self.minimum_minor = minimum_minor
        self.maximum_minor = maximum_minor


class TenderTooSmall(TariffRuleError):
    """After debt recovery the tender does not cover the fixed charges due this month."""


class NotApplicable(TariffRuleError):
    """The calculation does not fit this kind of tariff (e.g. a money → kWh split on a TOU tariff)."""


# --------------------------------------------------------------------------------------------------
# The structure (the JSON document in ``TariffVersion.components``)


class Block(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """One step of a block tariff: the rate applies to month-to-date kWh up to ``up_to_kwh``."""

    up_to_kwh: Decimal | None  # None for the last, open-ended block
    rate: Decimal  # major currency units per kWh


class FlatEnergy(
    msgspec.Struct, kw_only=True, tag_field="kind", tag="flat", forbid_unknown_fields=True, omit_defaults=True
):
    rate: Decimal


class BlockEnergy(
    msgspec.Struct,
    kw_only=True,
    tag_field="kind",
    tag="block",
    forbid_unknown_fields=True,
    omit_defaults=True,
):
    blocks: list[Block]


class TouBand(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    code: str  # e.g. "peak"
    name: str
    rate: Decimal


class TouPeriod(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    start: str  # "HH:MM", local time of the utility's zone
    end: str  # "HH:MM"; "24:00" ends the day
    band: str


class TouSchedule(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    weekday: list[TouPeriod]
    saturday: list[TouPeriod]
    sunday: list[TouPeriod]
    holiday: list[TouPeriod]


class TouEnergy(
    msgspec.Struct, kw_only=True, tag_field="kind", tag="tou", forbid_unknown_fields=True, omit_defaults=True
):
    """Time of use: each band has a rate; the schedule maps every minute of each day type to a band."""

    bands: list[TouBand]
    schedule: TouSchedule


Energy = FlatEnergy | BlockEnergy | TouEnergy


class FixedCharge(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A monthly charge; prepaid accounts pay it on their first purchase of the month."""

    name: str
    amount_minor: int
    taxable: bool = True


class DemandCharge(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    rate_per_kva: Decimal  # major units per kVA of the month's maximum demand (postpaid)


class PowerFactor(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Penalty on the energy charge when the power factor is below target (postpaid)."""

    target: Decimal  # e.g. "0.90"
    penalty_percent_per_step: Decimal  # percent of the energy charge per whole 0.01 below target


class Tax(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """VAT or a levy: a percentage of the net lines it applies to, or an amount per kWh."""

    name: str
    percent: Decimal | None = None
    per_kwh: Decimal | None = None  # major units per kWh (energy lines only)
    applies_to: Literal["energy", "fixed", "all"] = "energy"


class FreeBasic(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Free basic electricity: kWh per month given to eligible (prepaid) accounts."""

    kwh_per_month: Decimal


class DebtRecovery(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """How much of each purchase goes to the account's debt."""

    mode: Literal["percent", "fixed"]
    percent: Decimal | None = None  # mode "percent": of each tender
    amount_minor: int | None = None  # mode "fixed": per purchase
    ceiling_minor: int | None = None  # at most this much per purchase
    monthly_cap_minor: int | None = None  # at most this much per calendar month


class Structure(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """A tariff version's complete price structure."""

    energy: Energy
    fixed_charges: list[FixedCharge] = msgspec.field(default_factory=list)
    demand: DemandCharge | None = None
    power_factor: PowerFactor | None = None
    taxes: list[Tax] = msgspec.field(default_factory=list)
    free_basic: FreeBasic | None = None
    debt_recovery: DebtRecovery | None = None
    min_purchase_minor: int | None = None
    max_purchase_minor: int | None = None
    currency_digits: int = 2  # minor units per major unit = 10 ** currency_digits


DAY_TYPES: tuple[str, ...] = ("weekday", "saturday", "sunday", "holiday")
MINUTES_PER_DAY = 24 * 60
STS_STEP_WH = 100
_HUNDRED = Decimal(100)
_STEP = Decimal("0.01")
_MINOR_PER_MAJOR = {digits: Decimal(10) ** digits for digits in range(5)}  # the digits a tariff may have


# --------------------------------------------------------------------------------------------------
# Decoding and validation


def parse_structure(raw: str | bytes | Mapping[str, object]) -> Structure:
    """Decode and validate a components document (JSON text or an already-parsed mapping)."""
    try:
        if isinstance(raw, str | bytes):
            structure = msgspec.json.decode(raw, type=Structure)
        else:
            structure = msgspec.convert(raw, type=Structure)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InvalidStructure(f"Tariff components are not valid: {exc}") from None
    validate(structure)
    return structure


def encode_structure(structure: Structure) -> str:
    """JSON text of a structure (rates as decimal strings), as stored in ``components``."""
    return str(msgspec.json.encode(structure), "utf-8")


def _minutes(value: str, where: str) -> int:
    hours, sep, minutes = value.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise InvalidStructure(f"{where}: time '{value}' must be written HH:MM (00:00 to 24:00).")
    total = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or total > MINUTES_PER_DAY:
        raise InvalidStructure(f"{where}: time '{value}' is not a time of day (00:00 to 24:00).")
    return total


def _check_rate(value: Decimal, where: str) -> None:
    if not value.is_finite() or value < 0:
        raise InvalidStructure(f"{where}: the rate must be 0 or more, got {value}.")


def _check_percent(value: Decimal, where: str) -> None:
    if not value.is_finite() or not 0 <= value <= _HUNDRED:
        raise InvalidStructure(f"{where}: the percentage must be between 0 and 100, got {value}.")


def _check_minor(value: int | None, where: str, *, positive: bool = False) -> None:
    if value is not None and (value <= 0 if positive else value < 0):
        need = "more than 0" if positive else "0 or more"
        raise InvalidStructure(f"{where}: the amount must be {need} (minor units), got {value}.")


def _validate_schedule(energy: TouEnergy) -> None:
    codes = [band.code for band in energy.bands]
    if not codes:
        raise InvalidStructure("Time-of-use energy charge: define at least one band.")
    if len(set(codes)) != len(codes):
        raise InvalidStructure("Time-of-use energy charge: band codes must be unique.")
    for band in energy.bands:
        if not band.code.strip() or not band.name.strip():
            raise InvalidStructure("Time-of-use energy charge: every band needs a code and a name.")
        _check_rate(band.rate, f"Time-of-use band '{band.code}'")
    for day_type in DAY_TYPES:
        where = f"Time-of-use schedule ({day_type})"
        periods = getattr(energy.schedule, day_type)
        spans = []
        for period in periods:
            start, end = _minutes(period.start, where), _minutes(period.end, where)
            if period.band not in codes:
                raise InvalidStructure(
                    f"{where}: period {period.start}-{period.end} names unknown band '{period.band}'."
                )
            if end <= start:
                raise InvalidStructure(
                    f"{where}: period {period.start}-{period.end} must end after it "
                    "starts (split a period that crosses midnight in two)."
                )
            spans.append((start, end, period))
        spans.sort(key=lambda s: s[0])
        cursor = 0
        for start, end, period in spans:
            if start < cursor:
                raise InvalidStructure(
                    f"{where}: period {period.start}-{period.end} overlaps the one before it."
                )
            if start > cursor:
                raise InvalidStructure(
                    f"{where}: no band covers {_hhmm(cursor)}-{_hhmm(start)}; the schedule "
                    "must cover all 24 hours."
                )
            cursor = end
        if cursor != MINUTES_PER_DAY:
            raise InvalidStructure(
                f"{where}: no band covers {_hhmm(cursor)}-24:00; the schedule must cover all 24 hours."
            )


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def validate(structure: Structure) -> None:
    """Check the business rules of a structure; raise :class:`InvalidStructure` naming the component."""
    energy = structure.energy
    if not 0 <= structure.currency_digits <= 4:
        raise InvalidStructure("Currency digits must be between 0 and 4.")
    if isinstance(energy, FlatEnergy):
        _check_rate(energy.rate, "Flat energy charge")
    elif isinstance(energy, BlockEnergy):
        if not energy.blocks:
            raise InvalidStructure("Block energy charge: define at least one block.")
        previous = Decimal(0)
        for index, block in enumerate(energy.blocks, start=1):
            where = f"Block energy charge, block {index}"
            _check_rate(block.rate, where)
            last = index == len(energy.blocks)
            if block.up_to_kwh is None:
                if not last:
                    raise InvalidStructure(f"{where}: only the last block may be open-ended (no 'up to').")
                continue
            if not block.up_to_kwh.is_finite() or block.up_to_kwh <= previous:
                raise InvalidStructure(
                    f"{where}: thresholds must be strictly increasing "
                    f"({block.up_to_kwh} kWh is not above {previous} kWh)."
                )
            if block.up_to_kwh * 1000 != int(block.up_to_kwh * 1000):
                raise InvalidStructure(f"{where}: the threshold must be a whole number of Wh.")
            if last:
                raise InvalidStructure(f"{where}: the last block must be open-ended (leave 'up to' empty).")
            previous = block.up_to_kwh
    else:
        _validate_schedule(energy)
    for charge in structure.fixed_charges:
        if not charge.name.strip():
            raise InvalidStructure("Fixed charges: every charge needs a name.")
        _check_minor(charge.amount_minor, f"Fixed charge '{charge.name}'")
    if structure.demand is not None:
        _check_rate(structure.demand.rate_per_kva, "Demand charge")
    if structure.power_factor is not None:
        target = structure.power_factor.target
        if not target.is_finite() or not 0 < target <= 1:
            raise InvalidStructure(
                f"Power factor adjustment: the target must be above 0 and at most 1, got {target}."
            )
        _check_percent(structure.power_factor.penalty_percent_per_step, "Power factor adjustment")
    names = [tax.name for tax in structure.taxes]
    if len(set(names)) != len(names):
        raise InvalidStructure("Taxes and levies: names must be unique.")
    for tax in structure.taxes:
        where = f"Tax or levy '{tax.name}'"
        if not tax.name.strip():
            raise InvalidStructure("Taxes and levies: every tax or levy needs a name.")
        if (tax.percent is None) == (tax.per_kwh is None):
            raise InvalidStructure(
                f"{where}: give either a percentage or an amount per kWh, not both or none."
            )
        if tax.percent is not None:
            _check_percent(tax.percent, where)
        if tax.per_kwh is not None:
            _check_rate(tax.per_kwh, where)
            if tax.applies_to != "energy":
                raise InvalidStructure(f"{where}: a per-kWh levy applies to energy only.")
    if structure.free_basic is not None:
        kwh = structure.free_basic.kwh_per_month
        if not kwh.is_finite() or kwh < 0:
            raise InvalidStructure(f"Free basic electricity: kWh per month must be 0 or more, got {kwh}.")
    recovery = structure.debt_recovery
    if recovery is not None:
        if recovery.mode == "percent":
            if recovery.percent is None:
                raise InvalidStructure("Debt recovery: give the percentage of each purchase.")
            _check_percent(recovery.percent, "Debt recovery")
        elif recovery.amount_minor is None:
            raise InvalidStructure("Debt recovery: give the fixed amount per purchase.")
        _check_minor(recovery.amount_minor, "Debt recovery amount")
        _check_minor(recovery.ceiling_minor, "Debt recovery ceiling per purchase")
        _check_minor(recovery.monthly_cap_minor, "Debt recovery monthly cap")
    _check_minor(structure.min_purchase_minor, "Minimum purchase", positive=True)
    _check_minor(structure.max_purchase_minor, "Maximum purchase", positive=True)
    if (
        structure.min_purchase_minor is not None
        and structure.max_purchase_minor is not None
        and structure.min_purchase_minor > structure.max_purchase_minor
    ):
        raise InvalidStructure("Minimum purchase must not be above the maximum purchase.")


def is_time_of_use(structure: Structure) -> bool:
    return isinstance(structure.energy, TouEnergy)


# --------------------------------------------------------------------------------------------------
# Lines and rounding


class TaxAmount(msgspec.Struct, kw_only=True):
    name: str
    minor: int


class Line(msgspec.Struct, kw_only=True):
    """One money line: ``net_minor`` plus the taxes on it (each rounded on this line)."""

    kind: Literal["debt", "fixed", "energy", "demand", "power_factor"]
    label: str
    net_minor: int
    tax_minor: int = 0
    taxes: list[TaxAmount] = msgspec.field(default_factory=list)
    wh: int | None = None
    rate: Decimal | None = None
    band: str | None = None

    @property
    def gross_minor(self) -> int:
        return self.net_minor + self.tax_minor


def to_minor(major: Decimal, digits: int = 2) -> int:
    """Round an amount in major units to minor units, ROUND_HALF_UP (the module's one rule)."""
    return int((major * (Decimal(10) ** digits)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _round(minor: Decimal) -> int:
    return int(minor.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _energy_minor(wh: int, rate: Decimal, digits: int) -> Decimal:
    """Exact (unrounded) net price of ``wh`` at ``rate`` major units per kWh, in minor units."""
    scale = _MINOR_PER_MAJOR.get(digits)
    if scale is None:  # a structure not validated (validate() allows 0 to 4 digits)
        scale = Decimal(10) ** digits
    return Decimal(wh) * rate * scale / 1000


def _tax_minors(
    structure: Structure, category: Literal["energy", "fixed"], net_minor: int, wh: int | None
) -> Iterator[tuple[str, int]]:
    """(name, amount) of each tax on a line of ``category``: a levy per kWh on energy lines, a
    percentage of the net on the lines it applies to; each rounded on its own."""
    for tax in structure.taxes:
        if tax.per_kwh is not None:
            if category == "energy" and wh is not None:
                yield tax.name, _round(_energy_minor(wh, tax.per_kwh, structure.currency_digits))
            continue
        if tax.percent is not None and tax.applies_to in (category, "all"):
            yield tax.name, _round(Decimal(net_minor) * tax.percent / _HUNDRED)


def _taxes_for(
    structure: Structure, category: Literal["energy", "fixed"], net_minor: int, wh: int | None
) -> list[TaxAmount]:
    return [
        TaxAmount(name=name, minor=minor) for name, minor in _tax_minors(structure, category, net_minor, wh)
    ]


def _with_taxes(structure: Structure, line: Line, category: Literal["energy", "fixed"]) -> Line:
    taxes = _taxes_for(structure, category, line.net_minor, line.wh)
    line.taxes = taxes
    line.tax_minor = sum(t.minor for t in taxes)
    return line


def _block_bounds(structure: Structure, scale: Decimal = Decimal(1)) -> list[tuple[int | None, Decimal]]:
    """(upper bound in Wh or None, rate) per block; a flat tariff is one open block."""
    energy = structure.energy
    if isinstance(energy, FlatEnergy):
        return [(None, energy.rate)]
    if isinstance(energy, BlockEnergy):
        return [
            (
                None
                if b.up_to_kwh is None
                else int((b.up_to_kwh * 1000 * scale).to_integral_value(ROUND_HALF_UP)),
                b.rate,
            )
            for b in energy.blocks
        ]
    raise NotApplicable(
        "A time-of-use tariff prices metered registers by band, not energy bought with money."
    )


# --------------------------------------------------------------------------------------------------
# Energy ↔ money (flat and block tariffs)


def _segments(
    bounds: Sequence[tuple[int | None, Decimal]], start_wh: int, wh: int
) -> Iterator[tuple[int, int, int | None, int, Decimal]]:
    """(block number, block's lower and upper bound, Wh taken in it, rate) for ``wh`` Wh bought after
    ``start_wh`` Wh this month, block by block."""
    lower = 0
    position, left = start_wh, wh
    for index, (upper, rate) in enumerate(bounds, start=1):
        if left == 0:
            return
        if upper is not None and position >= upper:
            lower = upper
            continue
        take = left if upper is None else min(left, upper - position)
        yield index, lower, upper, take, rate
        position += take
        left -= take
        lower = upper or 0


def energy_cost(
    structure: Structure, start_wh_month_to_date: int, wh: int, *, block_scale: Decimal = Decimal(1)
) -> list[Line]:
    """Net price of ``wh`` Wh bought after ``start_wh_month_to_date`` Wh this month: one line per block.

    Each line carries (wh, rate, net_minor) with ``net_minor`` rounded ROUND_HALF_UP; no taxes.
    ``block_scale`` stretches the block thresholds (pro-rated postpaid periods). Flat and block
    tariffs only (:class:`NotApplicable` for time of use).
    """
    if wh < 0 or start_wh_month_to_date < 0:
        raise TariffRuleError("Energy amounts cannot be negative.")
    bounds = _block_bounds(structure, block_scale)
    digits = structure.currency_digits
    return [
        Line(
            kind="energy",
            label="Energy" if len(bounds) == 1 else _block_label(index, lower, upper),
            wh=take,
            rate=rate,
            net_minor=_round(_energy_minor(take, rate, digits)),
        )
        for index, lower, upper, take, rate in _segments(bounds, start_wh_month_to_date, wh)
    ]


def _taxed_energy_gross(
    structure: Structure, bounds: Sequence[tuple[int | None, Decimal]], start_wh: int, wh: int
) -> int:
    """What :func:`taxed_energy_lines` adds up to (net plus taxes, each rounded per line), without
    building the lines: the price the energy search evaluates a handful of times per sale."""
    digits, total = structure.currency_digits, 0
    for _, _, _, take, rate in _segments(bounds, start_wh, wh):
        net = _round(_energy_minor(take, rate, digits))
        total += net + sum(minor for _, minor in _tax_minors(structure, "energy", net, take))
    return total


def _block_label(index: int, lower_wh: int, upper_wh: int | None) -> str:
    def kwh(value: int) -> str:
        return f"{(Decimal(value) / 1000).normalize():f}"

    return (
        f"Energy block {index} ({kwh(lower_wh)}-{kwh(upper_wh)} kWh)"
        if upper_wh is not None
        else (f"Energy block {index} (above {kwh(lower_wh)} kWh)")
    )


def _net(lines: Sequence[Line]) -> int:
    return sum(line.net_minor for line in lines)


def _max_wh(cost_of: Callable[[int], int], budget: int, step: int) -> int:
    """Largest multiple of ``step`` whose cost (non-decreasing in Wh) is within ``budget``.

    The search starts from what the budget buys at the first step's price, which is exact or close
    for a flat tariff and the first block, and gallops from there: a sale costs a handful of price
    evaluations instead of two binary searches from zero.
    """
    if budget < 0 or cost_of(0) > budget:
        return 0
    guess = max(1, budget // max(cost_of(step), 1))
    if cost_of(guess * step) <= budget:
        low, delta = guess, 1  # cost(low) <= budget; find a step count that costs more
        while cost_of((low + delta) * step) <= budget:
            low += delta
            delta *= 2
            if delta > 10**15:
                raise NotApplicable(
                    "This tariff charges nothing for energy, so money cannot be turned into kWh."
                )
        high = low + delta
    else:
        high, delta = guess, 1  # cost(high) > budget; find a step count within the budget
        while high - delta > 0 and cost_of((high - delta) * step) > budget:
            high -= delta
            delta *= 2
        low = max(0, high - delta)
    while high - low > 1:  # cost(low) <= budget < cost(high)
        mid = (low + high) // 2
        if cost_of(mid * step) <= budget:
            low = mid
        else:
            high = mid
    return low * step


def energy_for_money(
    structure: Structure, month_to_date_wh: int, net_minor_available: int
) -> tuple[int, int, list[Line]]:
    """The most Wh (integer) that ``net_minor_available`` buys at net prices, never costing more.

    Returns ``(wh, cost_minor, lines)`` with ``cost_minor == sum(line.net_minor) <= available`` and
    the price of one Wh more above ``available``.
    """
    wh = _max_wh(lambda w: _net(energy_cost(structure, month_to_date_wh, w)), net_minor_available, 1)
    lines = energy_cost(structure, month_to_date_wh, wh)
    return wh, _net(lines), lines


def taxed_energy_lines(structure: Structure, month_to_date_wh: int, wh: int) -> list[Line]:
    """Energy lines with the energy taxes and levies on each (tax-inclusive pricing of ``wh``)."""
    return [_with_taxes(structure, line, "energy") for line in energy_cost(structure, month_to_date_wh, wh)]


def _gross(lines: Sequence[Line]) -> int:
    return sum(line.gross_minor for line in lines)


# --------------------------------------------------------------------------------------------------
# Prepaid purchase split


class Breakdown(msgspec.Struct, kw_only=True):
    """How one prepaid tender is split. ``debt + fixed + energy (net + tax) + change == tender``."""

    tender_minor: int
    debt_minor: int
    fixed_lines: list[Line]
    energy_lines: list[Line]
    energy_wh: int  # multiple of 100 Wh: the STS token's credit
    fbe_wh: int  # free basic electricity issued with this purchase (multiple of 100 Wh)
    change_minor: int  # unspent money (below 0.1 kWh) kept as account credit
    fixed_net_minor: int
    fixed_tax_minor: int
    energy_net_minor: int
    energy_tax_minor: int

    @property
    def lines(self) -> list[Line]:
        debt = (
            [Line(kind="debt", label="Debt recovery", net_minor=self.debt_minor)] if self.debt_minor else []
        )
        return [*debt, *self.fixed_lines, *self.energy_lines]


def check_tender(structure: Structure, tender_minor: int) -> None:
    """Raise :class:`TenderOutOfRange` if the tender is outside the tariff's purchase limits."""
    low, high = structure.min_purchase_minor, structure.max_purchase_minor
    digits = structure.currency_digits
    if tender_minor <= 0 or (low is not None and tender_minor < low):
        floor = low if low is not None else 1
        raise TenderOutOfRange(
            f"The smallest purchase on this tariff is {format_minor(floor, digits)}.",
            minimum_minor=low,
            maximum_minor=high,
        )
    if high is not None and tender_minor > high:
        raise TenderOutOfRange(
            f"The largest purchase on this tariff is {format_minor(high, digits)}.",
            minimum_minor=low,
            maximum_minor=high,
        )


def debt_recovery_minor(
    structure: Structure, tender_minor: int, debt_minor: int, recovered_this_month_minor: int = 0
) -> int:
    """Debt taken from a tender: per policy, at most the ceiling, the monthly cap left and the debt."""
    policy = structure.debt_recovery
    if policy is None or debt_minor <= 0:
        return 0
    if policy.mode == "percent":
        assert policy.percent is not None
        amount = _round(Decimal(tender_minor) * policy.percent / _HUNDRED)
    else:
        amount = policy.amount_minor or 0
    limits = [amount, debt_minor, tender_minor]
    if policy.ceiling_minor is not None:
        limits.append(policy.ceiling_minor)
    if policy.monthly_cap_minor is not None:
        limits.append(max(0, policy.monthly_cap_minor - recovered_this_month_minor))
    return max(0, min(limits))


def fixed_lines(structure: Structure, scale: Decimal = Decimal(1)) -> list[Line]:
    """The monthly fixed charges (pro-rated by ``scale``), each with its taxes when taxable."""
    out = []
    for charge in structure.fixed_charges:
        net = charge.amount_minor if scale == 1 else _round(Decimal(charge.amount_minor) * scale)
        line = Line(kind="fixed", label=charge.name, net_minor=net)
        out.append(_with_taxes(structure, line, "fixed") if charge.taxable else line)
    return out


def fbe_allowance_wh(structure: Structure, *, eligible: bool, issued_this_month_wh: int = 0) -> int:
    """Free basic electricity still due this month, in Wh rounded DOWN to 100 Wh (0 if not eligible)."""
    if not eligible or structure.free_basic is None:
        return 0
    monthly = int((structure.free_basic.kwh_per_month * 1000).to_integral_value(ROUND_FLOOR))
    due = max(0, monthly - issued_this_month_wh)
    return due // STS_STEP_WH * STS_STEP_WH


def split_tender(
    structure: Structure,
    tender_minor: int,
    *,
    debt_minor: int = 0,
    fixed_due: bool = False,
    month_to_date_wh: int = 0,
    fbe_due_wh: int = 0,
    debt_recovered_this_month_minor: int = 0,
) -> Breakdown:
    """Split a prepaid tender, in this order:

    1. debt recovery per the policy (capped by the debt, the per-purchase ceiling, the monthly cap);
    2. the fixed charges due this month (``fixed_due``: first purchase of the month) with their taxes;
    3. energy at the tariff, tax-inclusive: the most energy in whole 100 Wh (STS 0.1 kWh) whose net
       plus taxes/levies fit in what is left, priced from ``month_to_date_wh`` (Wh already bought this
       month, which decides the block);
    4. whatever is left (less than the price of 100 Wh more) is ``change_minor`` (account credit).

    ``fbe_due_wh`` (see :func:`fbe_allowance_wh`) is passed through, rounded down to 100 Wh; it does
    not cost money nor move the block position. Raises :class:`TenderOutOfRange` outside the tariff's
    min/max purchase, :class:`TenderTooSmall` when the fixed charges due are not covered, and
    :class:`NotApplicable` for time-of-use tariffs. Always ``debt + fixed + energy + change == tender``.
    """
    check_tender(structure, tender_minor)
    if month_to_date_wh < 0 or debt_minor < 0 or fbe_due_wh < 0:
        raise TariffRuleError("Debt, energy and free energy amounts cannot be negative.")
    bounds = _block_bounds(structure)  # NotApplicable for TOU
    debt = debt_recovery_minor(structure, tender_minor, debt_minor, debt_recovered_this_month_minor)
    remaining = tender_minor - debt
    fixed = fixed_lines(structure) if fixed_due else []
    fixed_total = _gross(fixed)
    if fixed_total > remaining:
        digits = structure.currency_digits
        raise TenderTooSmall(
            f"This purchase must first cover the monthly fixed charges of {format_minor(fixed_total, digits)}"
            + (f" after debt recovery of {format_minor(debt, digits)}" if debt else "")
            + f"; {format_minor(tender_minor, digits)} is not enough."
        )
    remaining -= fixed_total
    wh = _max_wh(
        lambda w: _taxed_energy_gross(structure, bounds, month_to_date_wh, w), remaining, STS_STEP_WH
    )
    energy = taxed_energy_lines(structure, month_to_date_wh, wh)
    energy_net, energy_tax = _net(energy), sum(line.tax_minor for line in energy)
    return Breakdown(
        tender_minor=tender_minor,
        debt_minor=debt,
        fixed_lines=fixed,
        energy_lines=energy,
        energy_wh=wh,
        fbe_wh=fbe_due_wh // STS_STEP_WH * STS_STEP_WH,
        change_minor=remaining - energy_net - energy_tax,
        fixed_net_minor=_net(fixed),
        fixed_tax_minor=sum(line.tax_minor for line in fixed),
        energy_net_minor=energy_net,
        energy_tax_minor=energy_tax,
    )


# --------------------------------------------------------------------------------------------------
# Time of use and postpaid bills


def day_type(day: date, holidays: Collection[date]) -> str:
    """weekday, saturday, sunday or holiday (a public holiday wins over the day of the week)."""
    if day in holidays:
        return "holiday"
    return {5: "saturday", 6: "sunday"}.get(day.weekday(), "weekday")


def tou_band_for(structure: Structure, local_datetime: datetime, holidays: Collection[date]) -> str:
    """The band code in force at a LOCAL time (the utility's zone) on a time-of-use tariff."""
    energy = structure.energy
    if not isinstance(energy, TouEnergy):
        raise NotApplicable("This tariff has no time-of-use bands.")
    minute = local_datetime.hour * 60 + local_datetime.minute
    periods: list[TouPeriod] = getattr(energy.schedule, day_type(local_datetime.date(), holidays))
    for period in periods:
        if _minutes(period.start, "schedule") <= minute < _minutes(period.end, "schedule"):
            return period.band
    raise InvalidStructure("Time-of-use schedule does not cover this time.")  # validate() prevents this


def postpaid_charges(
    structure: Structure,
    *,
    total_wh: int | None = None,
    band_wh: Mapping[str, int] | None = None,
    max_demand_kva: Decimal | None = None,
    power_factor: Decimal | None = None,
    period_days: int | None = None,
    month_days: int | None = None,
    include_fixed: bool = True,
) -> list[Line]:
    """The lines of a postpaid bill for one period, each with its taxes.

    Energy: flat/block tariffs price ``total_wh`` from the start of the period (block thresholds are
    monthly, pro-rated by ``period_days / month_days`` when both are given); time-of-use tariffs price
    ``band_wh`` (Wh per band code). Then: demand charge on ``max_demand_kva``; power factor penalty
    (``penalty_percent_per_step`` per WHOLE 0.01 below target, of the energy net); fixed charges
    (pro-rated the same way). Every line is rounded ROUND_HALF_UP; taxes are per line.
    """
    scale = Decimal(1)
    if period_days is not None and month_days is not None:
        if period_days <= 0 or month_days <= 0:
            raise TariffRuleError("Period and month lengths must be positive numbers of days.")
        scale = Decimal(period_days) / Decimal(month_days)
    energy = structure.energy
    lines: list[Line] = []
    if isinstance(energy, TouEnergy):
        if band_wh is None:
            raise TariffRuleError("A time-of-use bill needs the energy of each band.")
        rates = {band.code: band for band in energy.bands}
        unknown = set(band_wh) - set(rates)
        if unknown:
            raise TariffRuleError(f"Unknown time-of-use band(s): {', '.join(sorted(unknown))}.")
        for band in energy.bands:
            wh = band_wh.get(band.code, 0)
            if wh < 0:
                raise TariffRuleError("Energy amounts cannot be negative.")
            if wh:
                lines.append(
                    Line(
                        kind="energy",
                        label=f"Energy, {band.name}",
                        wh=wh,
                        rate=band.rate,
                        band=band.code,
                        net_minor=_round(_energy_minor(wh, band.rate, structure.currency_digits)),
                    )
                )
    else:
        if total_wh is None:
            total_wh = sum((band_wh or {}).values())
        lines.extend(energy_cost(structure, 0, total_wh, block_scale=scale))
    energy_net = _net(lines)
    if structure.demand is not None and max_demand_kva:
        if max_demand_kva < 0:
            raise TariffRuleError("Maximum demand cannot be negative.")
        lines.append(
            Line(
                kind="demand",
                label=f"Demand charge ({max_demand_kva} kVA)",
                rate=structure.demand.rate_per_kva,
                net_minor=to_minor(max_demand_kva * structure.demand.rate_per_kva, structure.currency_digits),
            )
        )
    pf = structure.power_factor
    if pf is not None and power_factor is not None and power_factor < pf.target:
        steps = ((pf.target - power_factor) / _STEP).to_integral_value(ROUND_FLOOR)
        percent = steps * pf.penalty_percent_per_step
        if steps > 0:
            lines.append(
                Line(
                    kind="power_factor",
                    label=f"Power factor adjustment (PF {power_factor} below {pf.target}: {percent}%)",
                    rate=percent,
                    net_minor=_round(Decimal(energy_net) * percent / _HUNDRED),
                )
            )
    lines = [_with_taxes(structure, line, "energy") for line in lines]
    if include_fixed:
        lines.extend(fixed_lines(structure, scale))
    return lines


# --------------------------------------------------------------------------------------------------
# Preview


class Preview(msgspec.Struct, kw_only=True):
    amount_minor: int
    energy_wh: int
    kwh: str
    text: str
    breakdown: Breakdown


def format_minor(minor: int, digits: int = 2, currency: str | None = None) -> str:
    major = (Decimal(minor) / (Decimal(10) ** digits)).quantize(Decimal(1).scaleb(-digits))
    text = f"{major:,.{digits}f}"
    return f"{currency} {text}" if currency else text


def format_kwh(wh: int) -> str:
    return f"{(Decimal(wh) / 1000).quantize(Decimal('0.1'), rounding=ROUND_DOWN):f}"


def preview(
    structure: Structure,
    amount_minor: int,
    month_to_date_wh: int = 0,
    *,
    currency: str = "",
    include_fixed: bool = False,
) -> Preview:
    """'X buys Y kWh at this tariff this month': a purchase with no debt (fixed charges if asked)."""
    breakdown = split_tender(
        structure, amount_minor, month_to_date_wh=month_to_date_wh, fixed_due=include_fixed
    )
    kwh = format_kwh(breakdown.energy_wh)
    money = format_minor(amount_minor, structure.currency_digits, currency or None)
    where = "this month" if month_to_date_wh == 0 else f"after {format_kwh(month_to_date_wh)} kWh this month"
    return Preview(
        amount_minor=amount_minor,
        energy_wh=breakdown.energy_wh,
        kwh=kwh,
        text=f"{money} buys {kwh} kWh at this tariff {where}.",
        breakdown=breakdown,
    )


def summary(structure: Structure, currency: str = "") -> str:
    """A one-line description of the energy charge (for notices): e.g. 'from 12.00 per kWh'."""
    prefix = f"{currency} " if currency else ""
    energy = structure.energy
    if isinstance(energy, FlatEnergy):
        return f"energy {prefix}{energy.rate} per kWh"
    if isinstance(energy, BlockEnergy):
        first = energy.blocks[0]
        limit = f" for the first {first.up_to_kwh} kWh" if first.up_to_kwh is not None else ""
        return f"energy from {prefix}{first.rate} per kWh{limit}"
    rates = ", ".join(f"{band.name} {prefix}{band.rate}" for band in energy.bands)
    return f"energy per kWh: {rates}"
