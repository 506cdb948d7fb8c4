"""Demo data for `make run`: every context adds its part, so a newcomer can try every feature at once."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.db.engine import create_engine, create_sessionmaker
from backend.demo import assets as demo_assets
from backend.demo import customers as demo_customers
from backend.demo import keys as demo_keys
from backend.demo import network as demo_network
from backend.demo import org_and_users
from backend.demo import tariffs as demo_tariffs
from backend.domain.org.models import OrgUnit
from backend.settings import Settings

DEMO_PASSWORD = org_and_users.DEMO_PASSWORD


async def seed_demo(
    settings: Settings, *, only_if_empty: bool = True, with_history: bool = True, with_customers: bool = True
) -> bool:
    """Load the demo data set; return False (and change nothing) when data exists and only_if_empty.

    ``with_history=False`` leaves out the 60 days of sales; ``with_customers=False`` also leaves out the
    customers, accounts and installations (tests that need demo users and master data only).
    """
    engine = create_engine(settings)
    try:
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as session:
            count = (await session.execute(select(func.count()).select_from(OrgUnit))).scalar_one()
        if count and only_if_empty:
            return False
        async with sessionmaker() as session:
            await org_and_users.seed(session, settings)
            # Each context adds its part here, in this order (later parts use earlier ones):
            # network, tariffs, keys, assets, then customers (accounts + meter installations).
            await demo_network.seed(session, settings)
            await demo_tariffs.seed(session, settings)
            await demo_keys.seed(session, settings)
            await demo_assets.seed(session, settings)
            if with_customers:
                await demo_customers.seed(session, settings, with_history=with_history)
        return True
    finally:
        await engine.dispose()
