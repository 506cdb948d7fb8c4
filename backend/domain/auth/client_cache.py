"""A short-lived, per-process memory of API clients, so a busy bank's every call does not read its row.

An entry lives ``ttl_seconds`` (5 s by default): revoking a client (``gridvend api-clients revoke``)
takes effect in every app process within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownClient:
    id: int
    name: str
    role: str
    key_hash: str
    active: bool
    org_unit_id: int | None
    org_path: str | None
    rate_limit_per_minute: int


class ApiClientCache:
    def __init__(self, ttl_seconds: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._items: dict[str, tuple[float, KnownClient]] = {}

    def get(self, prefix: str) -> KnownClient | None:
        item = self._items.get(prefix)
        if item is None:
            return None
        stored_at, client = item
        if self._clock() - stored_at >= self._ttl:
            del self._items[prefix]
            return None
        return client

    def put(self, prefix: str, client: KnownClient) -> None:
        if len(self._items) > 10_000:
            self._items.clear()
        self._items[prefix] = (self._clock(), client)
