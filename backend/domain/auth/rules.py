"""Roles, password policy, lockout and rate-window arithmetic (pure)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CASHIER = "cashier"
    BILLING_CLERK = "billing_clerk"
    ENGINEER = "engineer"
    AUDITOR = "auditor"
    AGENT = "agent"
    API_CLIENT = "api_client"
    CUSTOMER = "customer"


STAFF_ROLES: frozenset[str] = frozenset(
    {Role.ADMIN, Role.SUPERVISOR, Role.CASHIER, Role.BILLING_CLERK, Role.ENGINEER, Role.AUDITOR, Role.AGENT}
)
API_CLIENT_ROLES: frozenset[str] = frozenset({Role.API_CLIENT, Role.AGENT})
CUSTOMER_ROLES: frozenset[str] = frozenset({Role.CUSTOMER})
ALL_ROLES: frozenset[str] = frozenset(r.value for r in Role)

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10


def normalise_username(username: str) -> str:
    return username.strip().lower()


def username_problem(username: str) -> str | None:
    if not USERNAME_RE.fullmatch(username):
        return (
            "Username must be 2 to 64 characters: lower-case letters, digits, dot, dash or underscore, "
            "starting with a letter or digit."
        )
    return None


def password_problem(password: str, username: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be at least {MIN_PASSWORD_LENGTH} characters long."
    if len(password) > 256:
        return "Password must be at most 256 characters long."
    if password.strip().lower() == username.lower():
        return "Password must not be the username."
    return None


def roles_problem(roles: set[str], realm: str) -> str | None:
    unknown = roles - ALL_ROLES
    if unknown:
        return f"Unknown role(s): {', '.join(sorted(unknown))}. Known roles: {', '.join(sorted(ALL_ROLES))}."
    if not roles:
        return "A user needs at least one role."
    allowed = CUSTOMER_ROLES if realm == "customer" else STAFF_ROLES
    wrong = roles - allowed
    if wrong:
        return f"Role(s) {', '.join(sorted(wrong))} cannot be given to a {realm} user."
    return None


def lock_until(failed_logins: int, now: datetime, threshold: int, minutes: int) -> datetime | None:
    """After ``threshold`` consecutive failures the account locks for ``minutes``."""
    if failed_logins >= threshold:
        return now + timedelta(minutes=minutes)
    return None


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


API_KEY_RE = re.compile(r"^gv_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,})$")


def new_api_key() -> tuple[str, str]:
    """Return (prefix, full key). The full key is shown once; only its hash is kept."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(12))
    return prefix, f"gv_{prefix}_{secrets.token_urlsafe(32)}"


def parse_api_key(key: str) -> str | None:
    """Return the key's prefix, or None when the text is not shaped like one of our keys."""
    match = API_KEY_RE.fullmatch(key.strip())
    return match.group(1) if match else None


def window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=now.tzinfo)
