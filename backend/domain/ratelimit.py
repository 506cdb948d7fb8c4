"""Fixed-window counters kept in the database, so every app process counts the same attempts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.auth.models import RateCounter
from backend.domain.auth.rules import window_start


async def hit(session: AsyncSession, key: str, now: datetime, window_seconds: int) -> tuple[int, int]:
    """Count one event under ``key``; return (count in the current window, seconds until it ends).

    One atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement: two processes counting
    at the same moment both get counted.
    """
    start = window_start(now, window_seconds)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(RateCounter).values(key=key, window_start=start, count=1)
    table = RateCounter.__table__
    stale = table.c.window_start < values.excluded.window_start
    stmt = values.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "count": case((stale, literal(1)), else_=table.c.count + 1),
            "window_start": case((stale, values.excluded.window_start), else_=table.c.window_start),
        },
    ).returning(table.c.count)
    count = (await session.execute(stmt)).scalar_one()
    remaining = int((start + timedelta(seconds=window_seconds) - now).total_seconds()) + 1
    return int(count), max(remaining, 1)


async def peek(session: AsyncSession, key: str, now: datetime, window_seconds: int) -> int:
    row = await session.get(RateCounter, key)
    if row is None or row.window_start < window_start(now, window_seconds):
        return 0
    return row.count
