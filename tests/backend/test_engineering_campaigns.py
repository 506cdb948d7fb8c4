"""Key change campaigns: the base date 1993 → 2014 rollover over several meters, delivered with each
meter's next purchase (key change first, then a credit token under the new key), skip/fail/cancel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import SYSTEM
from backend.domain.errors import Conflict, InvalidInput, NotFound
from backend.domain.keys import service as keys
from backend.domain.keys.rules import KeyChangeRequest
from backend.domain.vending import campaigns
from backend.domain.vending import service as vending
from backend.settings import Settings
from tests.support.engineering import engine, load_new_key, staff
from tests.support.world import World, build_world, virtual_meter


@pytest.fixture
async def maker(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    db = create_engine(settings)
    yield create_sessionmaker(db)
    await db.dispose()


async def _buy(
    maker: async_sessionmaker[AsyncSession], settings: Settings, world: World, ref: str
) -> vending.VendOutcome:
    async with maker() as session:
        return await vending.purchase(
            session,
            settings,
            engine(session, settings),
            world.cashier,
            client_ref=ref,
            request=vending.PurchaseRequest(
                meter_number=world.meter_no, amount_minor=100_000, currency="KES", payment_method="cash"
            ),
        )


async def test_rollover_campaign_moves_meters_with_their_next_purchase(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    worlds: list[World] = []
    for _ in range(4):
        async with maker() as session:
            worlds.append(await build_world(session, settings, base_date=1993))
    async with maker() as session:
        untouched = await build_world(session, settings, base_date=2014)
    for w in worlds[:3]:
        await load_new_key(maker, settings, w, krn=2, base_date=2014)
    # worlds[3] has no KRN 2 key loaded: the key change rules refuse it
    everywhere = staff(None, "engineer")
    # worlds[2] already has its own pending change: skipped
    async with maker() as session:
        await keys.schedule_key_change(
            session, everywhere, worlds[2].meter_id, KeyChangeRequest(krn=2, base_date=2014), reason="manual"
        )

    async with maker() as session:
        progress = await campaigns.create(
            session,
            everywhere,
            "SGC rollover 1993 → 2014",
            campaigns.CampaignFilter(base_date=1993),
            campaigns.CampaignTarget(krn=2, base_date=2014),
        )
    c = progress.campaign
    assert c.meters_total == 4 and progress.pending == 2 and c.meters_skipped == 1 and c.meters_failed == 1
    assert [f["meter_no"] for f in progress.failures] == [worlds[3].meter_no]
    assert "No vending key" in progress.failures[0]["problem"]
    assert progress.status == "running"

    # a 1993 meter cannot take a credit token any more (its TIDs ran out in 2024) until the change
    sale = await _buy(maker, settings, worlds[0], "R-1")
    assert [t.kind for t in sale.tokens] == ["key_change", "key_change", "credit"]
    meter = virtual_meter(worlds[0])
    first, second = meter.enter(sale.tokens[0].token), meter.enter(sale.tokens[1].token)
    assert first.key_change_pending and second.key_changed
    assert int(meter.base_date) == 2014 and meter.krn == 2
    meter.enter(sale.tokens[2].token)
    assert meter.credit[0] > 0

    async with maker() as session:
        progress = await campaigns.get(session, everywhere, c.id)
    assert (progress.pending, progress.issued, progress.cancelled) == (1, 1, 0)

    async with maker() as session:
        listed, total = await campaigns.list_campaigns(session, everywhere)
    assert total == 1 and listed[0].campaign.id == c.id
    async with maker() as session:
        _, seen = await campaigns.list_campaigns(session, staff(untouched, "engineer"))
    assert seen == 0
    async with maker() as session:
        with pytest.raises(NotFound):
            await campaigns.get(session, staff(untouched, "engineer"), c.id)

    async with maker() as session:
        progress = await campaigns.cancel(session, everywhere, c.id)
    assert (progress.pending, progress.issued, progress.cancelled) == (0, 1, 1)
    assert progress.status == "cancelled"
    async with maker() as session:
        with pytest.raises(Conflict):
            await campaigns.cancel(session, everywhere, c.id)
    # the cancelled meter's next sale carries no key change
    async with maker() as session, session.begin():
        assert await keys.pending_change(session, worlds[1].meter_id) is None


async def test_campaign_needs_a_filter_and_a_target(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    everywhere = staff(None, "engineer")
    async with maker() as session:
        with pytest.raises(InvalidInput, match="at least one new value"):
            await campaigns.create(
                session, everywhere, "x", campaigns.CampaignFilter(sgc=1), campaigns.CampaignTarget()
            )
    async with maker() as session:
        with pytest.raises(InvalidInput, match="Choose the meters"):
            await campaigns.create(
                session, everywhere, "x", campaigns.CampaignFilter(), campaigns.CampaignTarget(krn=2)
            )


async def test_system_campaign_is_visible_in_the_meters_area(
    maker: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    async with maker() as session:
        world = await build_world(session, settings)
    await load_new_key(maker, settings, world, krn=2, base_date=world.base_date)
    async with maker() as session:
        made = await campaigns.create(
            session,
            SYSTEM,
            "demo-like",
            campaigns.CampaignFilter(sgc=world.sgc),
            campaigns.CampaignTarget(krn=2),
        )
    assert made.campaign.org_unit_id == world.org_unit_id and made.pending == 1
    async with maker() as session:
        items, total = await campaigns.list_campaigns(session, staff(world, "engineer"))
    assert total == 1 and items[0].campaign.id == made.campaign.id
