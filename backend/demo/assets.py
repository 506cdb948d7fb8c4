"""Demo meters and stock: a central warehouse, two field crews and 60 meters in stock.

* 20 STS keypad meters (manufacturer code 04) on SGC 123456: DKGA02, EA07, base date 1993, KRN 1, TI 1,
  KT 2 - the old supply group that awaits a key change to base date 2014;
* 25 STS keypad meters (manufacturer code 07) on SGC 600999: DKGA04, EA07, base date 2014, KRN 1, TI 1, KT 2;
* 5 STS keypad meters (manufacturer code 07) on SGC 600999 with EA11 (MISTY1) and DKGA04;
* 10 postpaid meters (no STS configuration).

All are in stock at the warehouse; the customers demo installs some of them (issue to a crew, then install).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import sts
from backend.domain.actor import SYSTEM
from backend.domain.assets import service
from backend.domain.assets.rules import IMPORT_COLUMNS
from backend.domain.org.models import OrgUnit
from backend.settings import Settings

WAREHOUSE = "WH-CEN"
CREWS = ("CREW-CEN-1", "CREW-CEN-2")

SGC_OLD = 123456
SGC_NEW = 600999


def _line(
    number: str, manufacturer: str, model: str, kind: str, sts_fields: tuple[object, ...] | None
) -> str:
    tail = ",".join(str(v) for v in sts_fields) if sts_fields else ",,,,,,,"
    return f"{number},{manufacturer},{model},{kind},1,SN-{number},{tail}"


def demo_meter_file() -> str:
    """The demo meters as an import file (also a worked example of the import format)."""
    lines = [",".join(IMPORT_COLUMNS)]
    for n in range(1, 21):
        number = sts.drn_from_parts("04", f"{10_000_000 + n:08d}")
        lines.append(
            _line(number, "Conlog", "BEC23", "sts_keypad", (SGC_OLD, 1, 1, 2, "07", "02", 1993, 255))
        )
    for n in range(1, 26):
        number = sts.drn_from_parts("07", f"{20_000_000 + n:08d}")
        lines.append(
            _line(number, "Hexing", "HXE110-KP", "sts_keypad", (SGC_NEW, 1, 1, 2, "07", "04", 2014, 255))
        )
    for n in range(1, 6):
        number = sts.drn_from_parts("07", f"{21_000_000 + n:08d}")
        lines.append(
            _line(number, "Hexing", "HXE310-KP", "sts_keypad", (SGC_NEW, 1, 1, 2, "11", "04", 2014, 255))
        )
    for n in range(1, 11):
        number = sts.drn_from_parts("04", f"{30_000_000 + n:08d}")
        lines.append(_line(number, "Landis+Gyr", "E350", "postpaid", None))
    return "\n".join(lines) + "\n"


async def seed(session: AsyncSession, settings: Settings) -> None:
    units = {
        u.code: u.id
        for u in (await session.execute(select(OrgUnit).where(OrgUnit.code.in_(["DPL-CEN"])))).scalars()
    }
    await session.rollback()
    region = units["DPL-CEN"]
    await service.create_location(
        session, SYSTEM, code=WAREHOUSE, name="Central Warehouse", kind="warehouse", org_unit_id=region
    )
    await service.create_location(
        session, SYSTEM, code=CREWS[0], name="Central Crew 1 (installations)", kind="crew", org_unit_id=region
    )
    await service.create_location(
        session, SYSTEM, code=CREWS[1], name="Central Crew 2 (maintenance)", kind="crew", org_unit_id=region
    )
    await service.import_meters(
        session, SYSTEM, demo_meter_file(), location_code=WAREHOUSE, source="demo delivery"
    )
