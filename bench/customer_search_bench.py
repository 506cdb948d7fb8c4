"""Customer search latency at 100,000 customers, on SQLite and PostgreSQL, beside a baseline.

Run: .venv/bin/python bench/customer_search_bench.py   (about 1-2 minutes; needs the PostgreSQL server
at 127.0.0.1:5432 used by the test suite - a throwaway database is created and dropped)

Data: 100,000 customers, each with an account at its own supply point and an installed meter, bulk
inserted with the search terms built by the same rules the service uses (``rules.build_terms``).
Measured: the ``customers.service.search`` call (through an org-scoped actor, so the scope join runs)
for name prefixes, phone numbers written the national way (0712 345 678), account numbers and meter
numbers. Baseline: a primary-key lookup of one customer by id through the same session. Each query runs
in its own short transaction. Printed: median and p99 in ms, and the ratio to the baseline median.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.db.engine import create_engine, create_sessionmaker
from backend.db.migrate import upgrade
from backend.domain.actor import Actor
from backend.domain.customers import service
from backend.domain.customers.models import Customer
from backend.domain.customers.rules import build_terms, format_number
from backend.domain.network.models import NetworkNode
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs.models import Tariff
from backend.settings import Settings, load_settings
from tests.support import postgres

N = 100_000
SAMPLES = 200
CHUNK = 5_000
CC = "254"
FIRST = [
    "Mary",
    "John",
    "Grace",
    "Peter",
    "Esther",
    "Joseph",
    "Amina",
    "Samuel",
    "Wanjiru",
    "Kibet",
    "Achieng",
    "Otieno",
    "Faith",
    "Brian",
    "Mercy",
    "Kevin",
    "Njeri",
    "Dennis",
    "Ann",
    "Collins",
    "Purity",
    "Victor",
    "Lucy",
    "Moses",
    "Sharon",
    "Daniel",
    "Ruth",
    "Felix",
    "Joy",
    "Martin",
]
LAST = [
    "Kamau",
    "Mwangi",
    "Odhiambo",
    "Wanjiku",
    "Kariuki",
    "Otieno",
    "Njoroge",
    "Mutua",
    "Kiprop",
    "Chebet",
    "Ouma",
    "Wafula",
    "Nyambura",
    "Gitau",
    "Korir",
    "Muthoni",
    "Omondi",
    "Barasa",
    "Kimani",
    "Wambui",
    "Macharia",
    "Auma",
    "Rotich",
    "Kiptoo",
    "Atieno",
    "Ndungu",
    "Mugo",
    "Onyango",
    "Wairimu",
    "Kilonzo",
]


def _phone(i: int) -> str:
    return f"+2547{(i * 7_919) % 100_000_000:08d}"


def _meter(i: int) -> str:
    return f"{40_000_000_000 + i:011d}"


NOW = datetime.now(UTC)
DEFAULTS: dict[str, dict[str, Any]] = {
    "customers": {
        "kind": "person",
        "language": "en",
        "category": "residential",
        "created_at": NOW,
        "updated_at": NOW,
    },
    "supply_points": {"phases": 1, "active": True, "created_at": NOW},
    "accounts": {
        "fbe_eligible": False,
        "credit_minor": 0,
        "debt_minor": 0,
        "created_at": NOW,
        "updated_at": NOW,
    },
    "meters": {"iin": "600727", "phases": 1, "created_at": NOW, "updated_at": NOW},
    "customer_search_terms": {},
}


async def _bulk(conn: AsyncConnection, table: str, rows: list[dict[str, Any]], postgres: bool) -> None:
    """Driver-level bulk load (COPY on PostgreSQL, executemany on SQLite) of complete rows, with the
    defaults the ORM would fill in."""
    extra = DEFAULTS[table]
    columns = [*rows[0], *extra]
    if postgres:
        records = [(*r.values(), *extra.values()) for r in rows]
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(table, records=records, columns=columns)
        return

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(tzinfo=None).isoformat(sep=" ")
        return int(value) if isinstance(value, bool) else value

    tail = [plain(v) for v in extra.values()]
    records = [(*r.values(), *tail) for r in rows]
    marks = ", ".join("?" for _ in columns)
    await conn.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", records)


async def build(settings: Settings) -> None:
    rnd = random.Random(42)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            session.add_all(
                [
                    OrgUnit(id=1, kind="utility", code="U", name="Utility", path="/1/"),
                    OrgUnit(id=2, kind="region", code="R", name="Region", parent_id=1, path="/1/2/"),
                ]
            )
            await session.flush()
            session.add(
                NetworkNode(id=1, kind="transformer", code="TX", name="TX", path="/1/", org_unit_id=2)
            )
            session.add(Tariff(id=1, code="DOM", name="Domestic", payment_mode="any", currency="KES"))
        customers, points, accounts, meters = [], [], [], []
        terms: list[dict[str, Any]] = []
        for i in range(1, N + 1):
            name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
            customer_no, account_no = format_number("C", i), format_number("A", i)
            customers.append(
                {"id": i, "customer_no": customer_no, "name": name, "phone": _phone(i), "org_unit_id": 2}
            )
            points.append(
                {
                    "id": i,
                    "code": f"SP{i:07d}",
                    "transformer_id": 1,
                    "org_unit_id": 2,
                    "address": f"House {i}",
                }
            )
            accounts.append(
                {
                    "id": i,
                    "account_no": account_no,
                    "customer_id": i,
                    "supply_point_id": i,
                    "tariff_id": 1,
                    "payment_mode": "prepaid",
                    "status": "active",
                    "org_unit_id": 2,
                    "currency": "KES",
                }
            )
            meters.append(
                {
                    "id": i,
                    "meter_no": _meter(i),
                    "kind": "sts_keypad",
                    "manufacturer": "Hexing",
                    "model": "HXE110",
                    "status": "installed",
                    "org_unit_id": 2,
                    "supply_point_id": i,
                }
            )
            for term, kind in build_terms(
                name=name,
                customer_no=customer_no,
                phones=[_phone(i)],
                account_nos=[account_no],
                meter_nos=[_meter(i)],
            ):
                terms.append({"id": len(terms) + 1, "customer_id": i, "term": term, "kind": kind})
        pg = not settings.is_sqlite
        async with engine.begin() as conn:
            for table, rows in (
                ("customers", customers),
                ("supply_points", points),
                ("accounts", accounts),
                ("meters", meters),
                ("customer_search_terms", terms),
            ):
                await _bulk(conn, table, rows, pg)
        async with engine.connect() as conn:
            if pg:
                await conn.exec_driver_sql("COMMIT")
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()


async def timed(fn: Callable[[int], Awaitable[object]], samples: int = SAMPLES) -> tuple[float, float]:
    for i in range(20):  # warm up
        await fn(i)
    times = []
    for i in range(samples):
        t = time.perf_counter()
        await fn(i)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


async def measure(settings: Settings, label: str) -> None:
    rnd = random.Random(7)
    engine = create_engine(settings)
    actor = Actor(
        kind="user", id=None, name="bench", roles=frozenset({"admin"}), org_unit_id=1, org_path="/1/"
    )
    try:
        async with create_sessionmaker(engine)() as session:
            ids = [rnd.randint(1, N) for _ in range(SAMPLES + 20)]
            names = (
                (await session.execute(select(Customer.name).where(Customer.id.in_(ids[:200]))))
                .scalars()
                .all()
            )
            await session.rollback()
            prefixes = [n.split()[rnd.randint(0, 1)][:4] for n in names]

            async def baseline(i: int) -> object:
                row = (await session.execute(select(Customer).where(Customer.id == ids[i]))).scalar_one()
                session.expunge_all()
                await session.rollback()
                return row

            def searcher(
                make_query: Callable[[int], str], expect: Callable[[int], int] | None
            ) -> Callable[[int], Awaitable[object]]:
                async def run(i: int) -> object:
                    hits = await service.search(session, actor, make_query(i), country_code=CC)
                    if expect is not None:
                        assert any(h.customer.id == expect(i) for h in hits), make_query(i)
                    else:
                        assert hits
                    session.expunge_all()
                    await session.rollback()
                    return hits

                return run

            def national(i: int) -> str:
                digits = _phone(ids[i])[4:]
                return f"0{digits[:3]} {digits[3:6]} {digits[6:]}"

            cases = [
                ("name prefix (4 letters)", searcher(lambda i: prefixes[i % len(prefixes)], None)),
                (
                    "two name prefixes",
                    searcher(lambda i: " ".join(n[:3] for n in names[i % len(names)].split()), None),
                ),
                ("phone 07xx xxx xxx", searcher(national, lambda i: ids[i])),
                ("account number", searcher(lambda i: format_number("A", ids[i]), lambda i: ids[i])),
                ("meter number", searcher(lambda i: _meter(ids[i]), lambda i: ids[i])),
            ]
            base_median, base_p99 = await timed(baseline)
            print(f"\n{label}: {N:,} customers")
            print(f"  {'query':28} {'median ms':>10} {'p99 ms':>8} {'x baseline':>11}")
            print(f"  {'baseline: customer by id':28} {base_median:10.2f} {base_p99:8.2f} {1:11.1f}")
            for name, fn in cases:
                median, p99 = await timed(fn)
                print(f"  {name:28} {median:10.2f} {p99:8.2f} {median / base_median:11.1f}")
    finally:
        await engine.dispose()


async def _pg(tmp: Path) -> None:
    server, throwaway = await asyncio.to_thread(postgres.find_server)
    url = await postgres.create_database(server, prefix="gridvend_bench")
    try:
        settings = load_settings(environ={}, database_url=url, master_key_file=str(tmp / "master.key"))
        await asyncio.to_thread(upgrade, settings)
        t = time.perf_counter()
        await build(settings)
        print(f"\n(PostgreSQL data built in {time.perf_counter() - t:.1f} s)")
        await measure(settings, "PostgreSQL")
    finally:
        await postgres.drop_database(server, url)
        if throwaway is not None:
            await asyncio.to_thread(throwaway.stop)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gridvend-bench-") as folder:
        tmp = Path(folder)
        settings = load_settings(
            environ={},
            database_url=f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
            master_key_file=str(tmp / "master.key"),
        )
        await asyncio.to_thread(upgrade, settings)
        t = time.perf_counter()
        await build(settings)
        print(f"(SQLite data built in {time.perf_counter() - t:.1f} s)")
        await measure(settings, "SQLite")
        await _pg(tmp)


if __name__ == "__main__":
    asyncio.run(main())
