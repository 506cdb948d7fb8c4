"""Runtime settings, read once from ``GRIDVEND_*`` environment variables.

Every value is validated here so that a wrong setting stops the process at start-up with a message
that names the variable, instead of failing later in the middle of a request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "gridvend.db"


class SettingsError(ValueError):
    """A GRIDVEND_* variable holds a value the product cannot use."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}"
    master_key_file: str = str(PROJECT_ROOT / "var" / "master.key")
    timezone: str = "Africa/Nairobi"
    currency: str = "KES"
    # Country calling code put in front of phone numbers written without one (0712…, 712…), no "+".
    default_country_code: str = "254"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    log_json: bool = True
    frontend_dist: str = str(PROJECT_ROOT / "frontend" / "dist")
    # Browser sessions
    session_idle_minutes: int = 480
    session_absolute_hours: int = 24
    cookie_secure: bool = False
    # Login protection
    login_ip_limit: int = 20
    login_ip_window_seconds: int = 300
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    trust_forwarded_for: bool = False
    # Password hashing (argon2id)
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    # PostgreSQL pool
    pg_pool_size: int = 10
    pg_max_overflow: int = 10
    pg_pool_timeout_seconds: int = 30
    # A pooled connection idle longer than this is checked before use (a busy one is not)
    pg_ping_after_idle_seconds: int = 10
    # SQLite
    sqlite_busy_timeout_ms: int = 10000
    # Sales one process lets into the database at once (backend.domain.vending.sale_gate)
    sales_in_flight: int = 6

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_LOG_LEVELS = {"debug", "info", "warning", "error", "critical"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _to_int(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _to_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


_INT_RANGES: dict[str, tuple[int, int]] = {
    "port": (1, 65535),
    "workers": (1, 64),
    "session_idle_minutes": (1, 60 * 24 * 30),
    "session_absolute_hours": (1, 24 * 90),
    "login_ip_limit": (1, 100000),
    "login_ip_window_seconds": (1, 86400),
    "lockout_threshold": (1, 1000),
    "lockout_minutes": (1, 60 * 24 * 7),
    "argon2_time_cost": (1, 20),
    "argon2_memory_kib": (8, 4 * 1024 * 1024),
    "pg_pool_size": (1, 500),
    "pg_max_overflow": (0, 500),
    "pg_pool_timeout_seconds": (1, 600),
    "pg_ping_after_idle_seconds": (0, 86400),
    "sqlite_busy_timeout_ms": (0, 600000),
    "sales_in_flight": (1, 1000),
}


def validate(settings: Settings) -> Settings:
    """Check cross-field rules and value formats; return the settings unchanged when valid."""
    url = settings.database_url
    if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
        raise SettingsError(
            "GRIDVEND_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
            f"got {url.split('://', 1)[0]!r}"
        )
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"GRIDVEND_TIMEZONE must be an IANA time zone such as Africa/Nairobi, got {settings.timezone!r}"
        ) from None
    if not re.fullmatch(r"[A-Z]{3}", settings.currency):
        raise SettingsError(
            f"GRIDVEND_CURRENCY must be a three-letter ISO 4217 code such as KES, got {settings.currency!r}"
        )
    if not re.fullmatch(r"[1-9][0-9]{0,2}", settings.default_country_code):
        raise SettingsError(
            "GRIDVEND_DEFAULT_COUNTRY_CODE must be a country calling code of 1 to 3 digits without + "
            f"such as 254, got {settings.default_country_code!r}"
        )
    if settings.log_level not in _LOG_LEVELS:
        raise SettingsError(
            f"GRIDVEND_LOG_LEVEL must be one of {sorted(_LOG_LEVELS)}, got {settings.log_level!r}"
        )
    for field, (low, high) in _INT_RANGES.items():
        value = getattr(settings, field)
        if not low <= value <= high:
            raise SettingsError(f"GRIDVEND_{field.upper()} must be between {low} and {high}, got {value}")
    return settings


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build settings from the environment (``GRIDVEND_<FIELD>``), then apply keyword overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field in Settings.__struct_fields__:
        name = f"GRIDVEND_{field.upper()}"
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        default = getattr(Settings(), field)
        if isinstance(default, bool):
            values[field] = _to_bool(name, raw)
        elif isinstance(default, int):
            low, high = _INT_RANGES.get(field, (-(2**31), 2**31))
            values[field] = _to_int(name, raw, low, high)
        else:
            values[field] = raw.strip()
    values.update(overrides)
    try:
        settings = Settings(**values)  # type: ignore[arg-type]
    except TypeError as exc:
        raise SettingsError(str(exc)) from None
    return validate(settings)
