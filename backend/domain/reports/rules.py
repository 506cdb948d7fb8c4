"""Report periods in the utility's zone (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, as UTC instants (DST-safe: midnight to next midnight)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_month_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_day_bounds(first, zone)[0], local_day_bounds(following, zone)[0]


def local_days(start: date, end_inclusive: date) -> list[date]:
    days = []
    current = start
    while current <= end_inclusive:
        days.append(current)
        current += timedelta(days=1)
    return days
