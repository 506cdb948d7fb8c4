"""Demo organisation (a utility, a region, two stations) and one user for every role."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import SYSTEM
from backend.domain.auth import service as auth
from backend.domain.auth.policy import policy_from_settings
from backend.domain.org import service as org
from backend.settings import Settings

DEMO_PASSWORD = "gridvend-demo"  # noqa: S105 - the published demo login, printed by `make run`

# username, full name, roles, org unit code, realm
DEMO_USERS: list[tuple[str, str, set[str], str | None, str]] = [
    ("admin", "Amina Odhiambo", {"admin"}, "DPL", "staff"),
    ("supervisor", "Samuel Kariuki", {"supervisor"}, "DPL-CEN", "staff"),
    ("cashier", "Grace Wanjiru", {"cashier"}, "DPL-CEN-01", "staff"),
    ("clerk", "Peter Mwangi", {"billing_clerk"}, "DPL-CEN", "staff"),
    ("engineer", "Joseph Otieno", {"engineer"}, "DPL", "staff"),
    ("auditor", "Esther Njeri", {"auditor"}, "DPL", "staff"),
    ("agent", "Kibet Corner Shop", {"agent"}, "DPL-CEN-02", "staff"),
    ("customer", "Mary Achieng", {"customer"}, None, "customer"),
]


async def seed(session: AsyncSession, settings: Settings) -> None:
    policy = policy_from_settings(settings)
    utility = await org.create_unit(
        session,
        SYSTEM,
        kind="utility",
        code="DPL",
        name="Demo Power & Light",
        parent_id=None,
        address="1 Grid Avenue, Nairobi",
    )
    region = await org.create_unit(
        session, SYSTEM, kind="region", code="DPL-CEN", name="Central Region", parent_id=utility.id
    )
    await org.create_unit(
        session,
        SYSTEM,
        kind="station",
        code="DPL-CEN-01",
        name="Central Town Office",
        parent_id=region.id,
        address="Moi Avenue 12",
    )
    await org.create_unit(
        session,
        SYSTEM,
        kind="station",
        code="DPL-CEN-02",
        name="Market Street Vending Point",
        parent_id=region.id,
        address="Market Street 3",
    )
    codes = {"DPL": utility.id}
    for unit in await org.list_units(session, SYSTEM):
        codes[unit.code] = unit.id
    await session.rollback()
    for username, full_name, roles, unit_code, realm in DEMO_USERS:
        await auth.create_user(
            session,
            policy,
            SYSTEM,
            username=username,
            full_name=full_name,
            password=DEMO_PASSWORD,
            roles=roles,
            org_unit_id=codes[unit_code] if unit_code else None,
            realm=realm,
        )
