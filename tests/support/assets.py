"""Helpers for assets tests: valid meter numbers, CSV files, locations and supply points."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import sts
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import Actor
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit
from backend.settings import Settings

CSV_HEADER = "meter_no,manufacturer,model,kind,phases,serial_no,sgc,ti,krn,kt,ea,dkga,base_date,ken"


def drn(n: int, mfr: str = "04") -> str:
    """The n-th valid meter number of a manufacturer (11 digits for a 2-digit code, 13 for 4)."""
    return sts.drn_from_parts(mfr, f"{n:08d}")


def bad_check_digit(number: str) -> str:
    """The same number with a wrong check digit."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def csv_line(
    number: str, *, kind: str = "sts_keypad", sgc: int = 600999, ea: str = "07", dkga: str = "04"
) -> str:
    if kind == "postpaid":
        return f"{number},Hexing,HXE110,postpaid,1,SN{number},,,,,,,,"
    return f"{number},Hexing,HXE110,{kind},1,SN{number},{sgc},1,1,2,{ea},{dkga},2014,255"


def csv_file(numbers: list[str]) -> str:
    return "\n".join([CSV_HEADER, *(csv_line(n) for n in numbers)]) + "\n"


@asynccontextmanager
async def db_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def unit(session: AsyncSession, code: str) -> OrgUnit:
    found = (await session.execute(select(OrgUnit).where(OrgUnit.code == code))).scalar_one()
    session.expunge(found)  # keep its loaded values after the rollback that ends this read
    await session.rollback()
    return found


async def actor_at(session: AsyncSession, code: str, *roles: str, name: str = "tester") -> Actor:
    """A staff actor of the given roles whose scope is the org unit with this code."""
    where = await unit(session, code)
    return Actor(
        kind="user",
        id=None,
        name=name,
        roles=frozenset(roles or ("engineer",)),
        org_unit_id=where.id,
        org_path=where.path,
    )


async def supply_point(session: AsyncSession, code: str, org_code: str, *, phases: int = 1) -> int:
    """A supply point row (the network context owns the table; assets only reads it)."""
    where = await unit(session, org_code)
    async with session.begin():
        point = SupplyPoint(code=code, org_unit_id=where.id, address=f"{code} Test Road", phases=phases)
        session.add(point)
        await session.flush()
        return point.id
