"""Demo supply network: 2 substations, 3 feeders, 6 transformers and 40 supply points in Central Region."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import SYSTEM
from backend.domain.network import service as network
from backend.domain.org import service as org
from backend.settings import Settings

# code, name, org unit code, voltage kV
SUBSTATIONS = [
    ("SS-NBW", "Nairobi West 66/11 kV Substation", "DPL-CEN", "66"),
    ("SS-KRB", "Kariobangi 66/11 kV Substation", "DPL-CEN", "66"),
]
# code, name, substation, org unit code
FEEDERS = [
    ("FD-NBW-01", "Langata Road 11 kV Feeder", "SS-NBW", "DPL-CEN-01"),
    ("FD-NBW-02", "Mbagathi Way 11 kV Feeder", "SS-NBW", "DPL-CEN-01"),
    ("FD-KRB-01", "Outer Ring Road 11 kV Feeder", "SS-KRB", "DPL-CEN-02"),
]
# code, name, feeder, rating kVA, street names served, town, approximate latitude/longitude
TRANSFORMERS = [
    (
        "TX-0101",
        "Madaraka Estate TX",
        "FD-NBW-01",
        200,
        ["Madaraka Estate Rd", "Aerodrome Rd"],
        "Madaraka",
        ("-1.3102", "36.8180"),
    ),
    (
        "TX-0102",
        "South C TX",
        "FD-NBW-01",
        315,
        ["Muhoho Ave", "Mugoya Rd"],
        "South C",
        ("-1.3198", "36.8271"),
    ),
    (
        "TX-0201",
        "Kibera Drive TX",
        "FD-NBW-02",
        200,
        ["Kibera Dr", "Olympic Rd"],
        "Kibera",
        ("-1.3122", "36.7836"),
    ),
    (
        "TX-0202",
        "Golf Course TX",
        "FD-NBW-02",
        100,
        ["Mbagathi Rd", "Golf Course Ln"],
        "Golf Course",
        ("-1.3045", "36.8005"),
    ),
    (
        "TX-0301",
        "Donholm TX",
        "FD-KRB-01",
        315,
        ["Rabai Rd", "Savannah Rd"],
        "Donholm",
        ("-1.2960", "36.8890"),
    ),
    ("TX-0302", "Umoja TX", "FD-KRB-01", 200, ["Moi Drive", "Kangundo Rd"], "Umoja", ("-1.2840", "36.9030")),
]
SUPPLY_POINTS = 40


async def seed(session: AsyncSession, settings: Settings) -> None:
    units = {u.code: u.id for u in await org.list_units(session, SYSTEM)}
    await session.rollback()
    nodes: dict[str, int] = {}
    for code, name, unit, kv in SUBSTATIONS:
        node = await network.create_node(
            session,
            SYSTEM,
            kind="substation",
            code=code,
            name=name,
            parent_id=None,
            org_unit_id=units[unit],
            voltage_kv=Decimal(kv),
        )
        nodes[code] = node.id
    for code, name, parent, unit in FEEDERS:
        node = await network.create_node(
            session,
            SYSTEM,
            kind="feeder",
            code=code,
            name=name,
            parent_id=nodes[parent],
            org_unit_id=units[unit],
            voltage_kv=Decimal("11"),
        )
        nodes[code] = node.id
    transformer_units = {code: unit for code, _, _, unit in FEEDERS}
    for code, name, parent, kva, _streets, _town, _pos in TRANSFORMERS:
        node = await network.create_node(
            session,
            SYSTEM,
            kind="transformer",
            code=code,
            name=name,
            parent_id=nodes[parent],
            org_unit_id=units[transformer_units[parent]],
            voltage_kv=Decimal("0.415"),
            rating_kva=kva,
        )
        nodes[code] = node.id
    for n in range(SUPPLY_POINTS):
        tx_code, _, _, _, streets, town, (lat, lon) = TRANSFORMERS[n % len(TRANSFORMERS)]
        house = 3 + (n * 7) % 97
        street = streets[(n // len(TRANSFORMERS)) % len(streets)]
        await network.create_supply_point(
            session,
            SYSTEM,
            code=f"SP-{n + 1:05d}",
            transformer_id=nodes[tx_code],
            address=f"House {house}, {street}",
            town=f"{town}, Nairobi",
            latitude=Decimal(lat) + Decimal(n % 5) / Decimal(1000),
            longitude=Decimal(lon) - Decimal(n % 3) / Decimal(1000),
            phases=3 if n % 10 == 9 else 1,
        )
