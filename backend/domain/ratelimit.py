"""Fixed-window counters kept in the database, so every app process counts the same attempts.

``hit`` counts one event in one statement (sign-in attempts: exact). ``BatchedCounter`` counts busy
callers (API clients) in the process and adds the counts to the same database row at most once a
second, and on every event once the caller is near its limit, so the limit stays exact where it
matters and a busy bank does not pay a database write per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.domain.auth.models import RateCounter
from backend.domain.auth.rules import window_start


def _seconds_left(start: datetime, now: datetime, window_seconds: int) -> int:
    return max(int((start + timedelta(seconds=window_seconds) - now).total_seconds()) + 1, 1)


async def add(session: AsyncSession, key: str, start: datetime, events: int) -> int:
    """Add ``events`` to ``key``'s counter of the window starting at ``start``; return its new count.

    One atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement: two processes counting
    at the same moment both get counted. A counter of an older window starts again from ``events``.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(RateCounter).values(key=key, window_start=start, count=events)
    table = RateCounter.__table__
    stale = table.c.window_start < values.excluded.window_start
    stmt = values.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((stale, values.excluded.count), else_=table.c.count + values.excluded.count),
            "window_start": case((stale, values.excluded.window_start), else_=table.c.window_start),
        },
    ).returning(table.c.count)
    return int((await session.execute(stmt)).scalar_one())


async def hit(session: AsyncSession, key: str, now: datetime, window_seconds: int) -> tuple[int, int]:
    """Count one event under ``key``; return (count in the current window, seconds until it ends)."""
    start = window_start(now, window_seconds)
    count = await add(session, key, start, 1)
    return count, _seconds_left(start, now, window_seconds)


@dataclass(slots=True)
class _Tally:
    window: datetime
    known: int = 0  # the database count after this process's last flush
    pending: int = 0  # counted here, not yet added to the database
    flushed_at: float = float("-inf")


class BatchedCounter:
    """Per-process tallies added to the shared database counters in batches (see the module doc).

    Across N processes a caller can exceed its limit by at most what the other processes counted in
    the last ``flush_seconds`` before it came near the limit; within one process the limit is exact.
    """

    def __init__(
        self,
        *,
        flush_seconds: float = 1.0,
        near_limit: float = 0.8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._flush_seconds = flush_seconds
        self._near_limit = near_limit
        self._clock = clock
        self._tallies: dict[str, _Tally] = {}

    async def hit(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        key: str,
        now: datetime,
        window_seconds: int,
        limit: int,
    ) -> tuple[int, int]:
        """Count one event; return (count in the current window, seconds until the window ends)."""
        start = window_start(now, window_seconds)
        tally = self._tallies.get(key)
        if tally is None or tally.window != start:
            if len(self._tallies) > 10_000:
                self._tallies = {k: t for k, t in self._tallies.items() if t.window >= start}
            tally = self._tallies[key] = _Tally(window=start)
        tally.pending += 1
        estimate = tally.known + tally.pending
        due = self._clock() - tally.flushed_at >= self._flush_seconds
        if due or estimate >= limit * self._near_limit:
            events, tally.pending = tally.pending, 0
            tally.flushed_at = self._clock()
            try:
                async with sessionmaker() as session, session.begin():
                    count = await add(session, key, start, events)
            except BaseException:
                tally.pending += events
                raise
            tally.known = max(tally.known, count)
            estimate = tally.known + tally.pending
        return estimate, _seconds_left(start, now, window_seconds)


async def peek(session: AsyncSession, key: str, now: datetime, window_seconds: int) -> int:
    row = await session.get(RateCounter, key)
    if row is None or row.window_start < window_start(now, window_seconds):
        return 0
    return row.count
