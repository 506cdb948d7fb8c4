"""Helpers for shift and cash-up tests: real staff users in a vending world's station."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import SYSTEM, Actor
from backend.domain.auth import service as auth
from backend.domain.auth.policy import policy_from_settings
from backend.domain.org.models import OrgUnit
from backend.settings import Settings

PASSWORD = "till-password-1"


async def staff_user(
    session: AsyncSession,
    settings: Settings,
    *,
    username: str,
    org_unit_id: int,
    roles: frozenset[str] = frozenset({"cashier"}),
    full_name: str | None = None,
) -> Actor:
    """Create a staff user (password ``PASSWORD``) and return the Actor the API would give them."""
    user = await auth.create_user(
        session,
        policy_from_settings(settings),
        SYSTEM,
        username=username,
        full_name=full_name or username.title(),
        password=PASSWORD,
        roles=set(roles),
        org_unit_id=org_unit_id,
    )
    async with session.begin():
        unit = await session.get(OrgUnit, org_unit_id)
    return auth.actor_for(user, roles, unit)
