"""CPU per sale against CPU per baseline request, in one process: the steadier measure of the sale's
cost (``vend_bench.py`` measures rates and latencies over HTTP, which move with this machine's load).

    .venv/bin/python bench/vend_cpu_bench.py [--requests 1000] [--rounds 5] [--only sqlite|postgres]

The app is the one ``vend_bench.py`` serves (``serve_app`` plus the baseline route), called as an ASGI
app in this process by 32 concurrent callers, without sockets or an HTTP server: what is left is the
app's own work (framework, authentication, the sale, the database driver). Rounds of baseline and
purchase alternate, so that a change in the machine's speed reaches both; each line is the process's
CPU time per request, and the last the medians and their ratio. With one server process, the rate
over HTTP is bounded by this CPU, so the ratio of CPU per request is the rate ratio the server could
reach (``vend_bench.py``'s goal: purchase at least half the baseline's rate).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.vend_bench import _prepare, bench_app, on_postgres  # noqa: E402

CONCURRENCY = 32


async def _call(app: Any, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> int:
    """One request through the ASGI app; its status."""
    payload = b"" if body is None else json.dumps(body).encode()
    raw_headers = [(b"host", b"bench"), (b"content-length", str(len(payload)).encode())]
    if body is not None:
        raw_headers.append((b"content-type", b"application/json"))
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    delivered = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _round(requests: range, one: Callable[[int], Awaitable[int]]) -> tuple[float, int]:
    """CPU milliseconds per request over ``requests`` sent by 32 concurrent callers; and the failures."""
    pending = iter(requests)
    failures = 0

    async def caller() -> None:
        nonlocal failures
        for i in pending:
            if await one(i) >= 400:
                failures += 1

    started = time.process_time()
    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    return 1000 * (time.process_time() - started) / len(requests), failures


async def run(name: str, database_url: str, requests: int, rounds: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gv-cpu-bench-"))
    numbers, key = await _prepare(database_url, tmp, meters=CONCURRENCY)
    os.environ.update(
        {
            "GRIDVEND_DATABASE_URL": database_url,
            "GRIDVEND_MASTER_KEY_FILE": str(tmp / "master.key"),
            "GRIDVEND_LOG_LEVEL": "warning",
        }
    )
    app = bench_app()
    auth = {"Authorization": f"Bearer {key}"}

    async def baseline(_: int) -> int:
        return await _call(app, "/bench/baseline", None, {})

    async def purchase(i: int) -> int:
        body = {
            "meter_number": numbers[i % len(numbers)],
            "amount": 30_000,
            "currency": "KES",
            "payment_method": "bank",
        }
        return await _call(app, f"/api/v1/purchases/cpu-{i}", body, auth)

    measured: dict[str, list[float]] = {"baseline": [], "purchase": []}
    async with app.lifespan():
        sent = 0
        await _round(range(sent, sent + 2 * CONCURRENCY), purchase)  # warm up
        sent += 2 * CONCURRENCY
        for number in range(1, rounds + 1):
            for label, one in (("baseline", baseline), ("purchase", purchase)):
                cpu, failures = await _round(range(sent, sent + requests), one)
                sent += requests
                measured[label].append(cpu)
                print(
                    f"{name:<10} round {number}  {label:<9} CPU per request {cpu:6.3f} ms  errors {failures}"
                )
    base, sale = (statistics.median(measured[label]) for label in ("baseline", "purchase"))
    print(
        f"{name:<10} median CPU per request: baseline {base:.3f} ms, purchase {sale:.3f} ms; "
        f"ratio baseline/purchase = {base / sale:.2f}  (a rate ratio of 0.50 needs 0.50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    try:
        import uvloop

        loop_run: Callable[[Any], Any] = uvloop.run  # as uvicorn serves it
    except ImportError:
        loop_run = asyncio.run
    if args.only in (None, "sqlite"):
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='gv-cpu-bench-db-')}/bench.db"
        loop_run(run("sqlite", url, args.requests, args.rounds))
    if args.only in (None, "postgres"):
        on_postgres(
            "gridvend_cpu_bench", lambda url: loop_run(run("postgres", url, args.requests, args.rounds))
        )


if __name__ == "__main__":
    main()
