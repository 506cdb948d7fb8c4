"""Token identifier (TID): whole minutes from the base date to the time of issue (24 bits).

Base dates are UTC (IEC 62055-41:2018). Only timezone-aware datetimes are accepted.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

from sts.errors import RangeError

__all__ = ["MAX_TID", "BaseDate", "datetime_from_tid", "next_base_date", "tid_from_datetime"]

MAX_TID = 0xFFFFFF


class BaseDate(enum.IntEnum):
    """The STS base dates, named by year."""

    Y1993 = 1993
    Y2014 = 2014
    Y2035 = 2035

    @property
    def start(self) -> datetime:
        return datetime(int(self), 1, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The last representable minute (TID 0xFFFFFF)."""
        return self.start + timedelta(minutes=MAX_TID)

    @property
    def label(self) -> str:
        """Two-digit form used in DKGA04 ("93", "14", "35")."""
        return f"{int(self) % 100:02d}"


def _base(base_date: BaseDate | int) -> BaseDate:
    try:
        return BaseDate(int(base_date))
    except ValueError:
        raise RangeError(f"base date must be 1993, 2014 or 2035, got {base_date}") from None


def tid_from_datetime(issued_at: datetime, base_date: BaseDate | int = BaseDate.Y1993) -> int:
    """Minutes (seconds truncated) from ``base_date`` to ``issued_at`` (timezone-aware)."""
    base = _base(base_date)
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise RangeError("issued_at must be timezone-aware (naive datetimes are ambiguous)")
    delta = issued_at - base.start
    if delta < timedelta(0):
        raise RangeError(f"{issued_at.isoformat()} is before base date {int(base)}-01-01T00:00Z")
    tid = int(delta.total_seconds() // 60)
    if tid > MAX_TID:
        raise RangeError(
            f"{issued_at.isoformat()} is beyond the last TID of base date {int(base)} "
            f"({base.end.isoformat()}); use a later base date"
        )
    return tid


def datetime_from_tid(tid: int, base_date: BaseDate | int = BaseDate.Y1993) -> datetime:
    """The UTC minute a TID stands for."""
    if not 0 <= tid <= MAX_TID:
        raise RangeError(f"TID must be 0..{MAX_TID}, got {tid}")
    return _base(base_date).start + timedelta(minutes=tid)


def next_base_date(base_date: BaseDate | int) -> BaseDate:
    """The base date after ``base_date`` (the last one maps to itself)."""
    order = list(BaseDate)
    i = order.index(_base(base_date))
    return order[min(i + 1, len(order) - 1)]
