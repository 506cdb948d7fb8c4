"""Helpers for the engineering-token, campaign and diagnosis tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import sts
from backend.domain.actor import SYSTEM, Actor
from backend.domain.keys import service as keys
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.rules import SecretBytes
from backend.domain.vending import engineering
from backend.domain.vending.models import EngineeringToken
from backend.settings import Settings
from tests.support.world import World

_ids = iter(range(50_000, 60_000))


def staff(world: World | None, role: str, name: str | None = None) -> Actor:
    """A staff user with ``role`` whose area is the world's utility (everything when world is None)."""
    n = next(_ids)
    return Actor(
        kind="user",
        id=n,
        name=name or f"{role}{n}",
        roles=frozenset({role}),
        org_unit_id=None if world is None else world.org_unit_id,
        org_path="/" if world is None else f"/{world.org_unit_id}/",
    )


def engine(session: AsyncSession, settings: Settings) -> SoftwareTokenEngine:
    return SoftwareTokenEngine.for_session(session, keys.keystore_for(settings))


async def ask(
    maker: async_sessionmaker[AsyncSession],
    settings: Settings,
    actor: Actor,
    meter_id: int,
    function: str,
    **kw: object,
) -> EngineeringToken:
    async with maker() as session:
        req = engineering.EngineeringRequest(function=function, reason=kw.pop("reason", "site visit"), **kw)  # type: ignore[arg-type]
        return await engineering.request(session, engine(session, settings), actor, meter_id, req)


async def approve(
    maker: async_sessionmaker[AsyncSession], settings: Settings, actor: Actor, token_id: int
) -> EngineeringToken:
    async with maker() as session:
        return await engineering.approve(session, engine(session, settings), actor, token_id)


def digits(row: EngineeringToken) -> list[str]:
    return [t["token"] for t in engineering.tokens_of(row)]


async def load_new_key(
    maker: async_sessionmaker[AsyncSession], settings: Settings, world: World, *, krn: int = 2, base_date: int
) -> bytes:
    """Import a vending key for the world's SGC under ``krn``/``base_date``; return the material."""
    material = secrets.token_bytes(8)
    async with maker() as session:
        await keys.import_vending_key(
            session,
            keys.keystore_for(settings),
            SYSTEM,
            sgc=world.sgc,
            krn=krn,
            kt=2,
            dkga="02",
            base_date=base_date,
            material=SecretBytes(material),
        )
    return material


def enter_all(meter: sts.VirtualMeter, tokens: Iterator[str] | list[str]) -> list[sts.Acceptance]:
    return [meter.enter(t) for t in tokens]
