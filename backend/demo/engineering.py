"""Demo engineering data: the key change campaign that moves SGC 123456 from base date 1993 (KRN 1) to
base date 2014 (KRN 2), the TID rollover, created only when the demo meters and keys exist."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import SYSTEM
from backend.domain.assets.models import Meter
from backend.domain.keys.models import VendingKey
from backend.domain.vending import campaigns
from backend.domain.vending.models import KeyChangeCampaign
from backend.settings import Settings

SGC = 123456


async def seed(session: AsyncSession, settings: Settings) -> None:
    async with session.begin():
        meters = (
            await session.execute(
                select(func.count())
                .select_from(Meter)
                .where(Meter.sgc == SGC, Meter.base_date == 1993, Meter.krn == 1, Meter.status == "installed")
            )
        ).scalar_one()
        target_key = (
            await session.execute(
                select(VendingKey.id).where(
                    VendingKey.sgc == SGC, VendingKey.krn == 2, VendingKey.base_date == 2014
                )
            )
        ).first()
        existing = (await session.execute(select(KeyChangeCampaign.id).limit(1))).first()
    if not meters or target_key is None or existing is not None:
        return
    await campaigns.create(
        session,
        SYSTEM,
        f"SGC {SGC}: base date 1993 → 2014 (TID rollover), KRN 1 → 2",
        campaigns.CampaignFilter(sgc=SGC, krn=1, base_date=1993),
        campaigns.CampaignTarget(krn=2, base_date=2014),
    )
