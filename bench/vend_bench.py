"""Vending throughput over HTTP: purchases per second and p50/p99 latency with 32 concurrent clients,
on SQLite and on PostgreSQL, each beside a baseline endpoint measured in the same run on the same
database (one INSERT and COMMIT per request). Prints the ratio purchases/baseline.

    .venv/bin/python bench/vend_bench.py [--requests 2000] [--rounds 3] [--concurrency 32]
        [--only sqlite|postgres]

The server is the app as `gridvend serve` runs it (``serve_app``) plus one extra route, run by uvicorn
in a child process.
Per database: the baseline and the purchase as fast as the server answers (closed loop), then the
purchase paced to half the rate just measured (the latency a client sees at an ordinary load). Each
line also gives the CPU time per request of the server, the database server and this client.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_app() -> Any:
    """The app as served plus ``POST /bench/baseline`` (uvicorn factory, used in the child process)."""
    from litestar import post
    from litestar.datastructures import State
    from sqlalchemy import text

    from backend.app import serve_app
    from backend.http.security import PUBLIC

    @post("/bench/baseline", opt=PUBLIC, include_in_schema=False, status_code=201)
    async def baseline(state: State) -> dict[str, int]:
        async with state.sessionmaker() as session, session.begin():
            await session.execute(text("INSERT INTO bench_baseline (note) VALUES ('x')"))
        return {"ok": 1}

    app = serve_app()
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


class _Connection:
    """One keep-alive HTTP/1.1 connection with pre-encoded requests: a lean load generator, so that
    the client takes little of the CPU the server under test needs (httpx costs ~1 ms per request)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return status


def _request(method: str, path: str, body: Any | None, headers: dict[str, str]) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", "Host: bench", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _load(
    port: int, make: Any, requests: int, concurrency: int, offered_rate: float | None = None
) -> tuple[float, list[float], int]:
    """Send ``requests`` over ``concurrency`` connections: as fast as answers come back (closed loop,
    the throughput), or paced to ``offered_rate`` requests/s in all (the latency at that load, timed
    from when each request was due, so a slow answer cannot hide the queue behind it)."""
    latencies: list[float] = []
    failures = 0
    counter = iter(range(requests))
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal failures
        connection = _Connection(*await asyncio.open_connection("127.0.0.1", port))
        try:
            for i in counter:
                request = make(i)
                due = time.perf_counter()
                if offered_rate is not None:
                    due = start + i / offered_rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                status = await connection.send(request)
                latencies.append(time.perf_counter() - due)
                if status >= 400:
                    failures += 1
        finally:
            connection.writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return requests / elapsed, latencies, failures


_TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP = 300  # requests of each kind before the measured phases


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """User + system CPU of a process, and of its children that have ended (Linux /proc); zeros when
    it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    own, ended_children = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
    return own / _TICKS, ended_children / _TICKS


def _process_tree(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    found = [pid]
    if children.exists():
        for child in children.read_text().split():
            found += _process_tree(int(child))
    return found


def _database_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


_Reading = tuple[float, dict[int, tuple[float, float]], float]


class _CpuMeter:
    """CPU time used by the server, the database server and this load generator over a phase."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def read(self) -> _Reading:
        server = sum(sum(_cpu_seconds(pid)) for pid in _process_tree(self.server_pid))
        database = {pid: _cpu_seconds(pid) for pid in _database_pids()}
        return server, database, time.process_time()

    def per_request(self, before: _Reading, requests: int) -> str:
        after = self.read()
        # Per database process: what it used since the phase began (all of it when it started since).
        # A connection that ended during the phase (the pool closes its overflow connections when a
        # phase's load stops) is gone from the reading; its whole CPU went to its parent's ended
        # children, so its share of the phase is that less what it had used at the start.
        database = 0.0
        for pid, (own, ended) in after[1].items():
            own_before, ended_before = before[1].get(pid, (0.0, 0.0))
            database += own - own_before + ended - ended_before
        database -= sum(own for pid, (own, _) in before[1].items() if pid not in after[1])
        server, client = after[0] - before[0], after[2] - before[2]
        server, database, client = (1000 * value / requests for value in (server, database, client))
        return (
            f"CPU per request: server {server:5.2f} ms, database {database:5.2f} ms, client {client:4.2f} ms"
        )


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run_one(
    name: str, database_url: str, requests: int, concurrency: int, workers: int = 1, rounds: int = 3
) -> None:
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

        def purchase(i: int, prefix: str = "bench") -> bytes:
            body = {
                "meter_number": numbers[i % len(numbers)],
                "amount": 30_000,
                "currency": "KES",
                "payment_method": "bank",
            }
            return _request("POST", f"/api/v1/purchases/{prefix}-{i}", body, auth)

        baseline_request = _request("POST", "/bench/baseline", None, {})

        def baseline(_: int) -> bytes:
            return baseline_request

        def report(label: str, rate: float, latencies: list[float], failures: int, cpu: str) -> None:
            print(
                f"{name:<10} {label:<22} {rate:8.1f} req/s  p50 {_pct(latencies, 0.5):7.1f} ms  "
                f"p99 {_pct(latencies, 0.99):7.1f} ms  errors {failures}  {cpu}"
            )

        meter = _CpuMeter(server.pid)
        # Both warmed up, so that each phase measures the steady state: every pooled connection has
        # prepared its statements, the meters' decoder keys and the tariff are cached.
        asyncio.run(_load(port, baseline, WARM_UP, concurrency))
        asyncio.run(_load(port, lambda i: purchase(i, "warm"), WARM_UP, concurrency))
        sent = 0

        def closed_loop(label: str, make: Callable[[int], bytes], number: int) -> float:
            nonlocal sent
            offset, before = sent, meter.read()
            rate, lat, fail = asyncio.run(_load(port, lambda i: make(offset + i), requests, concurrency))
            sent += requests
            report(f"{label} (round {number})", rate, lat, fail, meter.per_request(before, requests))
            return rate

        # Rounds of a baseline phase and a purchase phase, in turn (ABBA: the purchase first in every
        # other round), so that a drift of this machine's speed reaches both; each round's ratio
        # compares two neighbouring phases, and the median of the rounds' ratios is the result.
        ratios, purchase_rates = [], []
        for number in range(1, rounds + 1):
            phases = [("baseline", baseline), ("purchase", purchase)]
            rates = {
                label: closed_loop(label, make, number) for label, make in phases[:: 1 if number % 2 else -1]
            }
            ratios.append(rates["purchase"] / rates["baseline"])
            purchase_rates.append(rates["purchase"])
        print(
            f"{name:<10} ratio purchase/baseline = {statistics.median(ratios):.2f}  (goal >= 0.50; "
            f"median of {rounds} rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
        )
        # Closed-loop latency at saturation is mostly the queue (Little's law: 32 in flight / rate).
        # The latency a client sees at an ordinary load is measured with the requests paced to half
        # the median purchase rate just measured (the server then half busy).
        paced = statistics.median(purchase_rates) / 2
        before = meter.read()
        _, lat, fail = asyncio.run(
            _load(port, lambda i: purchase(sent + i), requests // 2, concurrency, offered_rate=paced)
        )
        report(f"purchase paced {paced:.0f}/s", paced, lat, fail, meter.per_request(before, requests // 2))
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--workers", type=int, default=1, help="server processes (uvicorn --workers)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of a baseline and a purchase phase")
    args = parser.parse_args()
    if args.only in (None, "sqlite"):
        tmp = tempfile.mkdtemp(prefix="gv-bench-db-")
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        run_one("sqlite", url, args.requests, args.concurrency, args.workers, args.rounds)
    if args.only in (None, "postgres"):
        on_postgres(
            "gridvend_bench",
            lambda url: run_one("postgres", url, args.requests, args.concurrency, args.workers, args.rounds),
        )


def on_postgres(name: str, run: Callable[[str], None]) -> None:
    """``run(url)`` on a new PostgreSQL database ``name`` (the tests' server), dropped afterwards."""
    from tests.support import postgres

    server_url, throwaway = postgres.find_server()
    url = asyncio.run(postgres.create_database(server_url, name))
    try:
        run(url)
    finally:
        asyncio.run(postgres.drop_database(server_url, url))
        if throwaway is not None:
            throwaway.stop()


if __name__ == "__main__":
    main()
