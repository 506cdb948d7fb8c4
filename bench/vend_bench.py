"""Vending throughput over HTTP: purchases per second and p50/p99 latency with 32 concurrent clients,
on SQLite and on PostgreSQL, each beside a baseline endpoint measured in the same run on the same
database (one INSERT and COMMIT per request). Prints the ratio purchases/baseline.

    .venv/bin/python bench/vend_bench.py [--requests 800] [--concurrency 32] [--only sqlite|postgres]

The server is the real app (``create_app``) plus one extra route, run by uvicorn in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_app() -> Any:
    """The real app plus ``POST /bench/baseline`` (uvicorn factory, used in the child process)."""
    from litestar import post
    from litestar.datastructures import State
    from sqlalchemy import text

    from backend.app import create_app
    from backend.http.security import PUBLIC

    @post("/bench/baseline", opt=PUBLIC, include_in_schema=False, status_code=201)
    async def baseline(state: State) -> dict[str, int]:
        async with state.sessionmaker() as session, session.begin():
            await session.execute(text("INSERT INTO bench_baseline (note) VALUES ('x')"))
        return {"ok": 1}

    app = create_app()
    app.register(baseline)
    return app


async def _prepare(database_url: str, tmp: Path, meters: int) -> tuple[list[str], str]:
    """Migrate, build vendable meters and an API client; return (meter numbers, API key)."""
    from sqlalchemy import text

    from backend.db.engine import create_engine, create_sessionmaker
    from backend.db.migrate import upgrade
    from backend.domain.actor import SYSTEM
    from backend.domain.auth import service as auth
    from backend.settings import load_settings
    from tests.support.world import build_world

    settings = load_settings(environ={}, database_url=database_url, master_key_file=str(tmp / "master.key"))
    await asyncio.to_thread(upgrade, settings)
    engine = create_engine(settings)
    numbers = []
    async with create_sessionmaker(engine)() as session:
        for _ in range(meters):
            numbers.append((await build_world(session, settings)).meter_no)
        _, key = await auth.create_api_client(
            session,
            SYSTEM,
            name="Bench Bank",
            role="api_client",
            org_unit_id=None,
            rate_limit_per_minute=10**9,
        )
        async with session.begin():
            await session.execute(
                text("CREATE TABLE bench_baseline (id INTEGER PRIMARY KEY, note TEXT)")
                if settings.is_sqlite
                else text("CREATE TABLE bench_baseline (id BIGSERIAL PRIMARY KEY, note TEXT)")
            )
    await engine.dispose()
    return numbers, key


async def _load(url: str, make: Any, requests: int, concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def worker() -> None:
            nonlocal failures
            for i in counter:
                method, path, kwargs = make(i)
                started = time.perf_counter()
                response = await client.request(method, path, **kwargs)
                latencies.append(time.perf_counter() - started)
                if response.status_code >= 400:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, latencies, failures


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_one(name: str, database_url: str, requests: int, concurrency: int, workers: int = 1) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gv-bench-"))
    numbers, key = asyncio.run(_prepare(database_url, tmp, meters=concurrency))
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "GRIDVEND_DATABASE_URL": database_url,
        "GRIDVEND_MASTER_KEY_FILE": str(tmp / "master.key"),
        "GRIDVEND_LOG_LEVEL": "warning",
        "PYTHONPATH": str(ROOT),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.vend_bench:bench_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {key}"}

        def purchase(i: int) -> tuple[str, str, dict[str, Any]]:
            body = {
                "meter_number": numbers[i % len(numbers)],
                "amount": 30_000,
                "currency": "KES",
                "payment_method": "bank",
            }
            return "POST", f"/api/v1/purchases/bench-{i}", {"json": body, "headers": auth}

        def baseline(_: int) -> tuple[str, str, dict[str, Any]]:
            return "POST", "/bench/baseline", {}

        asyncio.run(_load(url, baseline, concurrency * 2, concurrency))  # warm up
        base_rate, base_lat, base_fail = asyncio.run(_load(url, baseline, requests, concurrency))
        rate, lat, fail = asyncio.run(_load(url, purchase, requests, concurrency))
        print(
            f"{name:<10} baseline  {base_rate:8.1f} req/s  p50 {_pct(base_lat, 0.5):7.1f} ms  "
            f"p99 {_pct(base_lat, 0.99):7.1f} ms  errors {base_fail}"
        )
        print(
            f"{name:<10} purchase  {rate:8.1f} req/s  p50 {_pct(lat, 0.5):7.1f} ms  "
            f"p99 {_pct(lat, 0.99):7.1f} ms  errors {fail}"
        )
        print(f"{name:<10} ratio purchase/baseline = {rate / base_rate:.2f}  (goal >= 0.50)")
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--workers", type=int, default=1, help="server processes (uvicorn --workers)")
    args = parser.parse_args()
    if args.only in (None, "sqlite"):
        tmp = tempfile.mkdtemp(prefix="gv-bench-db-")
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        run_one("sqlite", url, args.requests, args.concurrency, args.workers)
    if args.only in (None, "postgres"):
        from tests.support import postgres

        server_url, throwaway = postgres.find_server()
        url = asyncio.run(postgres.create_database(server_url, "gridvend_bench"))
        try:
            run_one("postgres", url, args.requests, args.concurrency, args.workers)
        finally:
            asyncio.run(postgres.drop_database(server_url, url))
            if throwaway is not None:
                throwaway.stop()


if __name__ == "__main__":
    main()
