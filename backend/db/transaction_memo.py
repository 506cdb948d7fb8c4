"""A value kept on a session for its current transaction only (forgotten when another one begins).

The memo sits in ``session.info`` and names its transaction by a weak reference. A strong one would
make a reference cycle (session → info → transaction → session): every session that kept a memo would
then outlive its request until the garbage collector found the cycle, and a sale's session, with its
connection wrappers and event dispatchers, made the collector run about every eight sales.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


def transaction_memo(session: AsyncSession, key: str) -> Any | None:
    """The value kept under ``key`` for the session's current transaction, or None."""
    memo = session.info.get(key)
    if memo is None:
        return None
    held, value = memo
    transaction = session.sync_session.get_transaction()
    return value if transaction is not None and held() is transaction else None


def keep_for_transaction(session: AsyncSession, key: str, value: Any) -> None:
    """Keep ``value`` under ``key`` until the session's current transaction ends."""
    transaction = session.sync_session.get_transaction()
    assert transaction is not None, "a transaction memo needs a transaction"
    session.info[key] = (weakref.ref(transaction), value)
