"""The auth policy built from the settings (one place, used by the app, the CLI and the demo loader)."""

from __future__ import annotations

from datetime import timedelta

from backend.domain.auth.passwords import Passwords
from backend.domain.auth.service import AuthPolicy
from backend.settings import Settings


def policy_from_settings(settings: Settings) -> AuthPolicy:
    return AuthPolicy(
        passwords=Passwords(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib),
        session_idle=timedelta(minutes=settings.session_idle_minutes),
        session_absolute=timedelta(hours=settings.session_absolute_hours),
        login_ip_limit=settings.login_ip_limit,
        login_ip_window_seconds=settings.login_ip_window_seconds,
        lockout_threshold=settings.lockout_threshold,
        lockout_minutes=settings.lockout_minutes,
    )
