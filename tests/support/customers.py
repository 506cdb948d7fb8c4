"""Helpers for network and customers tests: a session over the demo data, actors for org units, tariffs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import Actor
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs.models import Tariff
from backend.settings import Settings


@asynccontextmanager
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def actor_at(session: AsyncSession, unit_code: str, *roles: str) -> Actor:
    """A staff actor whose scope is the org unit with this code."""
    unit_id, path = (
        await session.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.code == unit_code))
    ).one()
    await session.rollback()
    return Actor(
        kind="user",
        id=None,
        name=f"tester@{unit_code}",
        roles=frozenset(roles or ("admin",)),
        org_unit_id=unit_id,
        org_path=path,
    )


async def unit_id(session: AsyncSession, code: str) -> int:
    value = (await session.execute(select(OrgUnit.id).where(OrgUnit.code == code))).scalar_one()
    await session.rollback()
    return int(value)


async def add_tariff(
    session: AsyncSession, code: str, payment_mode: str = "any", currency: str = "KES"
) -> int:
    """A tariff row (the tariffs context owns its price versions; accounts only need the row)."""
    async with session.begin():
        existing = (await session.execute(select(Tariff).where(Tariff.code == code))).scalar_one_or_none()
        if existing is not None:
            return existing.id
        tariff = Tariff(code=code, name=f"Tariff {code}", payment_mode=payment_mode, currency=currency)
        session.add(tariff)
        await session.flush()
        return tariff.id


async def supply_point(session: AsyncSession, code: str) -> SupplyPoint:
    point = (await session.execute(select(SupplyPoint).where(SupplyPoint.code == code))).scalar_one()
    session.expunge(point)
    await session.rollback()
    return point
