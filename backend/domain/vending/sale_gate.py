"""How many sales one server process lets into the database at once.

Every sale of a station (every bank's sale: they share the "API" receipt counter) and every audited
change write the same two rows, the receipt counter and the audit chain head, and hold them from
their writes to their commit (within one statement on the sale's way without locks). Sales beyond a
few in flight gain nothing: they wait in PostgreSQL on those rows, each holding a pooled connection,
and every commit wakes all of them to queue again (the database's lock manager then burns CPU that
the sales need). Waiting here instead, first come
first served, is cheap and leaves the pool's connections to look-ups and staff work.

Measured with ``bench/vend_bench.py`` (``docs/performance.md``): with 2 to 6 sales in flight the
sales per second, as a share of the baseline's, were 15 to 30 % higher than with no limit. Since
the sale's way without locks (sixth session: 6000 sales over HTTP, two runs each), 32 in flight sold
355 to 379 a second, 2 in flight 517 to 529, 4 in flight 566 to 570 and 6 in flight 574 to 596, with
less of the server's CPU per sale (1.59 to 1.66 ms against 1.71 to 1.73 ms with 4: fewer sales wait
here, each with its timer). More than the pool's ``pg_pool_size`` (10) makes the pool open and close
overflow connections. ``GRIDVEND_SALES_IN_FLIGHT`` sets it (default 6).
"""

from __future__ import annotations

import asyncio
import weakref

from backend.domain.errors import DomainError


class Busy(DomainError):
    status = 503
    title = "Busy"


# One gate per event loop and limit (a semaphore belongs to the loop it is first used on).
_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _gate(limit: int) -> asyncio.Semaphore:
    gates = _GATES.setdefault(asyncio.get_running_loop(), {})
    gate = gates.get(limit)
    if gate is None:
        gate = gates[limit] = asyncio.Semaphore(limit)
    return gate


class sale_gate:  # named as the function it reads as: ``async with sale_gate(limit, timeout):``
    """Wait for one of ``limit`` places (Busy after ``timeout_seconds``: nothing was sold, and the
    same request with the same reference can be sent again)."""

    __slots__ = ("_gate", "_timeout")

    def __init__(self, limit: int, timeout_seconds: float) -> None:
        self._gate = _gate(limit)
        self._timeout = timeout_seconds

    async def __aenter__(self) -> None:
        if not self._gate.locked():  # a place is free: no timer to arm
            await self._gate.acquire()
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._gate.acquire()
        except TimeoutError:
            raise Busy(
                "The system is too busy to take this sale now; nothing was sold. "
                "Send the same request again with the same reference.",
                outcome="failed",
            ) from None

    async def __aexit__(self, *exc_info: object) -> None:
        self._gate.release()
