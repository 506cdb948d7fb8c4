"""Domain errors: raised by services, turned into RFC 9457 problem responses at the HTTP edge.

Every message is written for the person who will read it (a cashier, a bank's integrator), not for
the developer: it says what was wrong and, where possible, what to do.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status: int = 400
    title: str = "Request cannot be processed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidInput(DomainError):
    status = 422
    title = "Invalid input"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class NotAuthenticated(DomainError):
    status = 401
    title = "Not signed in"


class PermissionDenied(DomainError):
    status = 403
    title = "Not allowed"


class AccountLocked(DomainError):
    status = 423
    title = "Account locked"


class RateLimited(DomainError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after_seconds = retry_after_seconds
