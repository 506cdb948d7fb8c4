"""Tariff structures and arithmetic (pure): validation messages and hypothesis properties."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backend.domain.tariffs import rules as r
from tests.support.tariffs import LIFELINE, TOU_COMMERCIAL

LIFELINE_S = r.parse_structure(LIFELINE)
TOU_S = r.parse_structure(TOU_COMMERCIAL)

rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99.99"), places=2)
percents = st.decimals(min_value=Decimal(0), max_value=Decimal(30), places=2)


@st.composite
def structures(draw: st.DrawFn) -> r.Structure:
    """Random flat or block tariffs with taxes, levies, fixed charges and debt recovery."""
    if draw(st.booleans()):
        energy: r.Energy = r.FlatEnergy(rate=draw(rates))
    else:
        bounds = sorted(set(draw(st.lists(st.integers(1, 2000), min_size=0, max_size=4))))
        blocks = [r.Block(up_to_kwh=Decimal(b) / 10, rate=draw(rates)) for b in bounds]
        blocks.append(r.Block(up_to_kwh=None, rate=draw(rates)))
        energy = r.BlockEnergy(blocks=blocks)
    taxes = []
    if draw(st.booleans()):
        taxes.append(
            r.Tax(name="VAT", percent=draw(percents), applies_to=draw(st.sampled_from(["energy", "all"])))
        )
    if draw(st.booleans()):
        taxes.append(r.Tax(name="Levy", percent=draw(percents)))
    if draw(st.booleans()):
        taxes.append(r.Tax(name="kWh levy", per_kwh=draw(st.decimals(Decimal(0), Decimal(3), places=3))))
    fixed = [
        r.FixedCharge(name="Service", amount_minor=draw(st.integers(0, 20000)), taxable=draw(st.booleans()))
    ]
    recovery = None
    if draw(st.booleans()):
        recovery = r.DebtRecovery(
            mode="percent",
            percent=draw(percents),
            ceiling_minor=draw(st.none() | st.integers(0, 500000)),
            monthly_cap_minor=draw(st.none() | st.integers(0, 500000)),
        )
    elif draw(st.booleans()):
        recovery = r.DebtRecovery(mode="fixed", amount_minor=draw(st.integers(0, 50000)))
    structure = r.Structure(energy=energy, taxes=taxes, fixed_charges=fixed, debt_recovery=recovery)
    r.validate(structure)
    return structure


tenders = st.integers(1, 10_000_000)
mtd = st.integers(0, 400_000)


@settings(max_examples=200, deadline=None)
@given(structures(), tenders, st.integers(0, 1_000_000), st.booleans(), mtd, st.integers(0, 100_000))
def test_split_never_creates_or_loses_a_cent(
    s: r.Structure, tender: int, debt: int, fixed_due: bool, month_wh: int, recovered: int
) -> None:
    try:
        b = r.split_tender(
            s,
            tender,
            debt_minor=debt,
            fixed_due=fixed_due,
            month_to_date_wh=month_wh,
            debt_recovered_this_month_minor=recovered,
        )
    except r.TenderTooSmall:
        fixed = sum(line.gross_minor for line in r.fixed_lines(s))
        assert tender - r.debt_recovery_minor(s, tender, debt, recovered) < fixed
        return
    parts = b.debt_minor + b.fixed_net_minor + b.fixed_tax_minor + b.energy_net_minor + b.energy_tax_minor
    assert parts + b.change_minor == tender
    assert sum(line.gross_minor for line in b.lines) + b.change_minor == tender
    assert b.energy_wh % 100 == 0 and b.energy_wh == sum(line.wh or 0 for line in b.energy_lines)
    assert 0 <= b.debt_minor <= min(debt, tender)
    assert b.change_minor >= 0
    # the change cannot buy another 0.1 kWh
    more = r.taxed_energy_lines(s, month_wh, b.energy_wh + 100)
    assert (
        sum(line.gross_minor for line in more) > tender - b.debt_minor - b.fixed_net_minor - b.fixed_tax_minor
    )


@settings(max_examples=200, deadline=None)
@given(structures(), tenders, st.integers(0, 100_000), mtd, st.integers(0, 1_000_000))
def test_more_money_never_buys_less_energy(
    s: r.Structure, tender: int, extra: int, month_wh: int, debt: int
) -> None:
    low = r.split_tender(s, tender, month_to_date_wh=month_wh, debt_minor=debt)
    high = r.split_tender(s, tender + extra, month_to_date_wh=month_wh, debt_minor=debt)
    assert high.energy_wh >= low.energy_wh


@settings(max_examples=200, deadline=None)
@given(structures(), mtd, st.integers(0, 300_000), st.integers(0, 300_000))
def test_cost_is_additive_across_block_boundaries(s: r.Structure, start: int, a: int, b: int) -> None:
    whole = r.energy_cost(s, start, a + b)
    first, second = r.energy_cost(s, start, a), r.energy_cost(s, start + a, b)
    # the energy is the same and each Wh is priced at the same rate ...
    assert sum(line.wh or 0 for line in whole) == a + b
    exact = sum(Decimal(line.wh or 0) * (line.rate or 0) for line in whole)
    assert exact == sum(Decimal(line.wh or 0) * (line.rate or 0) for line in first + second)
    # ... and rounding each line moves the total by less than half a minor unit per line
    delta = abs(sum(x.net_minor for x in whole) - sum(x.net_minor for x in first + second))
    assert delta <= (len(whole) + len(first) + len(second)) // 2 + 1


@settings(max_examples=200, deadline=None)
@given(structures(), mtd, st.integers(0, 400_000))
def test_the_energy_search_prices_energy_as_the_receipt_lines_do(
    s: r.Structure, month_wh: int, wh: int
) -> None:
    lines = r.taxed_energy_lines(s, month_wh, wh)
    assert r._taxed_energy_gross(s, r._block_bounds(s), month_wh, wh) == sum(x.gross_minor for x in lines)


@settings(max_examples=200, deadline=None)
@given(structures(), mtd, st.integers(0, 5_000_000))
def test_energy_for_money_is_the_inverse_of_energy_cost(s: r.Structure, month_wh: int, money: int) -> None:
    wh, cost, lines = r.energy_for_money(s, month_wh, money)
    assert (
        cost
        == sum(line.net_minor for line in r.energy_cost(s, month_wh, wh))
        == sum(x.net_minor for x in lines)
    )
    assert cost <= money
    assert sum(x.net_minor for x in r.energy_cost(s, month_wh, wh + 1)) > money


@settings(max_examples=100, deadline=None)
@given(structures(), st.integers(1, 10_000_000))
def test_tender_outside_min_max_is_refused(s: r.Structure, tender: int) -> None:
    s.min_purchase_minor, s.max_purchase_minor = 5000, 5_000_000
    assume(not 5000 <= tender <= 5_000_000)
    with pytest.raises(r.TenderOutOfRange) as err:
        r.split_tender(s, tender)
    assert ("smallest" if tender < 5000 else "largest") in str(err.value)


def test_lifeline_purchase_worked_example() -> None:
    # 1,000.00 with 500.00 debt, first purchase of the month: 25% debt, 150 + 16% VAT fixed, then energy.
    b = r.split_tender(LIFELINE_S, 100_000, debt_minor=50_000, fixed_due=True, fbe_due_wh=25_050)
    assert b.debt_minor == 25_000
    assert [(x.net_minor, x.tax_minor) for x in b.fixed_lines] == [(15_000, 2_400)]
    # 57,600 left for energy at 12.00/kWh + 16% VAT + 3% levy = 14.28 per kWh gross: 40.3 kWh
    assert b.energy_wh == 40_300
    assert b.energy_net_minor == 48_360 and b.energy_tax_minor == 7_738 + 1_451
    assert b.change_minor == 57_600 - 48_360 - 9_189
    assert b.fbe_wh == 25_000


def test_block_boundary_lines() -> None:
    lines = r.energy_cost(LIFELINE_S, 40_000, 20_000)
    assert [(x.wh, x.rate, x.net_minor) for x in lines] == [
        (10_000, Decimal("12.00"), 12_000),
        (10_000, Decimal("18.50"), 18_500),
    ]
    assert r.energy_cost(LIFELINE_S, 250_000, 1_000)[0].rate == Decimal("24.00")


def test_debt_recovery_ceiling_and_monthly_cap() -> None:
    assert r.debt_recovery_minor(LIFELINE_S, 5_000_000, 10_000_000) == 200_000  # ceiling 2,000.00
    assert r.debt_recovery_minor(LIFELINE_S, 100_000, 10_000) == 10_000  # only what is owed
    capped = r.Structure(
        energy=r.FlatEnergy(rate=Decimal(10)),
        debt_recovery=r.DebtRecovery(mode="fixed", amount_minor=5_000, monthly_cap_minor=12_000),
    )
    assert r.debt_recovery_minor(capped, 100_000, 99_999, recovered_this_month_minor=10_000) == 2_000


def test_fixed_charges_not_covered_is_a_typed_error() -> None:
    with pytest.raises(r.TenderTooSmall, match=r"monthly fixed charges of 174\.00"):
        r.split_tender(LIFELINE_S, 10_000, fixed_due=True)


def test_tou_band_for_weekdays_weekends_and_holidays() -> None:
    holidays = {date(2025, 12, 25)}
    assert r.tou_band_for(TOU_S, datetime(2025, 12, 23, 18, 30), holidays) == "peak"  # Tuesday
    assert r.tou_band_for(TOU_S, datetime(2025, 12, 23, 3, 0), holidays) == "offpeak"
    assert r.tou_band_for(TOU_S, datetime(2025, 12, 23, 12, 0), holidays) == "standard"
    assert r.tou_band_for(TOU_S, datetime(2025, 12, 25, 18, 30), holidays) == "offpeak"  # Christmas
    assert r.tou_band_for(TOU_S, datetime(2025, 12, 27, 18, 30), holidays) == "standard"  # Saturday
    with pytest.raises(r.NotApplicable):
        r.tou_band_for(LIFELINE_S, datetime(2025, 12, 23, 18, 30), holidays)


def test_postpaid_bill_lines_tou_demand_and_power_factor() -> None:
    lines = r.postpaid_charges(
        TOU_S,
        band_wh={"peak": 1_000_000, "standard": 2_000_000, "offpeak": 500_000},
        max_demand_kva=Decimal("85.5"),
        power_factor=Decimal("0.853"),
    )
    by_kind = {}
    for line in lines:
        by_kind.setdefault(line.kind, []).append(line)
    energy_net = sum(x.net_minor for x in by_kind["energy"])
    assert energy_net == 1000 * 3000 + 2000 * 1800 + 500 * 1000  # 30.00 / 18.00 / 10.00 per kWh
    assert by_kind["demand"][0].net_minor == 85_500 * 80  # 800.00 per kVA * 85.5
    # 0.90 - 0.853 = 4.7 steps -> 4 whole steps * 0.5% = 2% of the energy charge
    assert by_kind["power_factor"][0].net_minor == energy_net * 2 // 100
    assert by_kind["fixed"][0].net_minor == 250_000
    for line in lines:
        vat = [t.minor for t in line.taxes if t.name == "VAT"]
        assert vat == [
            int((Decimal(line.net_minor) * Decimal("0.16")).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        ]


def test_postpaid_block_bill_is_pro_rated() -> None:
    full = r.postpaid_charges(LIFELINE_S, total_wh=100_000)
    half = r.postpaid_charges(LIFELINE_S, total_wh=100_000, period_days=15, month_days=30)
    assert [x.wh for x in full if x.kind == "energy"] == [50_000, 50_000]
    assert [x.wh for x in half if x.kind == "energy"] == [25_000, 75_000]
    assert [x.net_minor for x in half if x.kind == "fixed"] == [7_500]


def test_preview_sentence() -> None:
    p = r.preview(LIFELINE_S, 10_000, currency="KES")
    assert p.text == "KES 100.00 buys 7.0 kWh at this tariff this month."
    assert p.energy_wh == 7_000 and p.breakdown.change_minor == 10_000 - 8_400 - 1_596
    later = r.preview(LIFELINE_S, 10_000, 250_000, currency="KES")
    assert later.energy_wh < p.energy_wh and "after 250.0 kWh" in later.text


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {
                "energy": {
                    "kind": "block",
                    "blocks": [
                        {"up_to_kwh": "50", "rate": "1"},
                        {"up_to_kwh": "50", "rate": "2"},
                        {"up_to_kwh": None, "rate": "3"},
                    ],
                }
            },
            "Block energy charge, block 2: thresholds must be strictly increasing",
        ),
        (
            {"energy": {"kind": "block", "blocks": [{"up_to_kwh": "50", "rate": "1"}]}},
            "the last block must be open-ended",
        ),
        ({"energy": {"kind": "flat", "rate": "-1"}}, "Flat energy charge: the rate must be 0 or more"),
        (
            {"taxes": [{"name": "VAT", "percent": "116"}]},
            "Tax or levy 'VAT': the percentage must be between 0 and 100",
        ),
        ({"debt_recovery": {"mode": "percent", "percent": "101"}}, "Debt recovery: the percentage"),
        ({"min_purchase_minor": 500, "max_purchase_minor": 100}, "Minimum purchase must not be above"),
        ({"energy": {"kind": "flat"}}, "missing required field `rate`"),
        ({"energy": {"kind": "flat", "rate": "abc"}}, "Tariff components are not valid"),
    ],
)
def test_invalid_structures_name_the_component(patch: dict[str, object], message: str) -> None:
    doc = {"energy": {"kind": "flat", "rate": "10"}, **patch}
    with pytest.raises(r.InvalidStructure, match=message.replace("(", r"\(").replace(")", r"\)")):
        r.parse_structure(doc)


@pytest.mark.parametrize(
    ("weekday", "message"),
    [
        ([["00:00", "12:00", "peak"], ["11:00", "24:00", "offpeak"]], "overlaps"),
        ([["00:00", "12:00", "peak"], ["13:00", "24:00", "offpeak"]], "no band covers 12:00-13:00"),
        ([["00:00", "23:00", "peak"]], "no band covers 23:00-24:00"),
        ([["22:00", "06:00", "peak"]], "must end after it starts"),
        ([["00:00", "24:00", "nope"]], "unknown band 'nope'"),
        ([["0:00", "24:00", "peak"]], "must be written HH:MM"),
    ],
)
def test_tou_schedule_must_cover_the_day_without_overlap(weekday: list[list[str]], message: str) -> None:
    full = [{"start": "00:00", "end": "24:00", "band": "peak"}]
    doc = {
        "energy": {
            "kind": "tou",
            "bands": [
                {"code": "peak", "name": "Peak", "rate": "1"},
                {"code": "offpeak", "name": "Off", "rate": "1"},
            ],
            "schedule": {
                "weekday": [{"start": a, "end": b, "band": c} for a, b, c in weekday],
                "saturday": full,
                "sunday": full,
                "holiday": full,
            },
        }
    }
    with pytest.raises(r.InvalidStructure, match=r"Time-of-use schedule \(weekday\)") as err:
        r.parse_structure(doc)
    assert message in str(err.value)


def test_structure_round_trips_with_decimal_strings() -> None:
    text = r.encode_structure(LIFELINE_S)
    assert '"rate":"18.50"' in text
    assert r.parse_structure(text) == LIFELINE_S


@given(
    st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=60),
    st.integers(min_value=-5, max_value=20_000),
    st.sampled_from([1, 100]),
)
def test_the_energy_search_finds_the_most_steps_the_budget_buys(
    increments: list[int], budget: int, step: int
) -> None:
    # Any non-decreasing price curve (flat stretches, jumps, falls in rate): the galloping search
    # must agree with counting step by step.
    prices = [sum(increments[: i + 1]) for i in range(len(increments))]

    def cost_of(wh: int) -> int:
        steps = wh // step
        return prices[steps] if steps < len(prices) else prices[-1] + (steps - len(prices) + 1) * 1000

    expected = 0
    if budget >= 0 and cost_of(0) <= budget:
        while cost_of((expected + 1) * step) <= budget:
            expected += 1
    assert r._max_wh(cost_of, budget, step) == expected * step
