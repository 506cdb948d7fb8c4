"""Demo customers, accounts, meter installations, opening arrears and 60 days of sales.

Runs after network, tariffs, keys and assets. Everything goes through the services (customers,
assets, ledger, vending), so the demo history is what the product itself would have recorded:
balanced ledger postings, audited sales and real STS tokens.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.types import utcnow
from backend.demo import engineering as demo_engineering
from backend.demo.org_and_users import DEMO_PASSWORD
from backend.domain.actor import SYSTEM, Actor
from backend.domain.assets import service as assets
from backend.domain.assets.models import Meter
from backend.domain.auth import service as auth
from backend.domain.auth.models import User
from backend.domain.auth.policy import policy_from_settings
from backend.domain.customers import service as customers
from backend.domain.keys.engine import SoftwareTokenEngine
from backend.domain.keys.service import keystore_for
from backend.domain.ledger import service as ledger
from backend.domain.ledger.rules import LedgerAccount, credit, debit
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs.models import Tariff
from backend.domain.vending import service as vending
from backend.settings import Settings

FIRST = [
    "Wanjiru",
    "Otieno",
    "Achieng",
    "Kamau",
    "Njeri",
    "Mwangi",
    "Akinyi",
    "Kiptoo",
    "Chebet",
    "Mutua",
    "Atieno",
    "Kariuki",
    "Wambui",
    "Omondi",
    "Nyambura",
    "Kipchoge",
    "Moraa",
    "Njoroge",
    "Adhiambo",
    "Ruto",
    "Wairimu",
    "Onyango",
    "Jepkosgei",
    "Gitau",
    "Muthoni",
]
LAST = [
    "Kamau",
    "Odhiambo",
    "Wanjiku",
    "Mwangi",
    "Otieno",
    "Cheruiyot",
    "Njuguna",
    "Ochieng",
    "Kiprono",
    "Nduta",
]
COMPANIES = [
    "Mama Pima Grocers",
    "Kibera Tech Hub",
    "Riverside Welding Works",
    "Langata Bakery",
    "Ngong Road Pharmacy",
]
SEED = 20261129


@dataclass(frozen=True, slots=True)
class DemoAccount:
    account_id: int
    meter_no: str
    prepaid: bool


async def _ids(session: AsyncSession) -> tuple[dict[str, int], dict[str, Tariff]]:
    async with session.begin():
        units = {u.code: u.id for u in (await session.execute(select(OrgUnit))).scalars().all()}
        tariffs = {t.code: t for t in (await session.execute(select(Tariff))).scalars().all()}
    return units, tariffs


async def _meters(session: AsyncSession, *, postpaid: bool) -> list[Meter]:
    async with session.begin():
        query = select(Meter).where(Meter.status == "in_stock", Meter.phases == 1)
        query = query.where(Meter.kind == "postpaid") if postpaid else query.where(Meter.kind != "postpaid")
        return list((await session.execute(query.order_by(Meter.id))).scalars().all())


async def _points(session: AsyncSession) -> list[SupplyPoint]:
    async with session.begin():
        rows = await session.execute(
            select(SupplyPoint).where(SupplyPoint.phases == 1).order_by(SupplyPoint.id)
        )
        return list(rows.scalars().all())


async def _install(session: AsyncSession, meter: Meter, point: SupplyPoint) -> None:
    async with session.begin():
        crew = await assets._location_by_code(session, SYSTEM, "CREW-CEN-1")
        crew_id = crew.id
    await assets.move_meter(session, SYSTEM, meter.id, to_status="issued", location_id=crew_id, note="demo")
    await assets.move_meter(
        session, SYSTEM, meter.id, to_status="installed", supply_point_id=point.id, note="demo installation"
    )


async def _accounts(session: AsyncSession, settings: Settings, rng: random.Random) -> list[DemoAccount]:
    units, tariffs = await _ids(session)
    stock = await _meters(session, postpaid=False)
    # half from the SGC awaiting the TID rollover (1993), half from the 2014 SGC; the rest stay in stock
    old_sgc = [m for m in stock if m.base_date == 1993]
    new_sgc = [m for m in stock if m.base_date != 1993]
    prepaid_meters = [m for pair in zip(old_sgc[:12], new_sgc[:12], strict=False) for m in pair]
    postpaid_meters = await _meters(session, postpaid=True)
    points = await _points(session)
    made: list[DemoAccount] = []
    plan = [("prepaid", i) for i in range(24)] + [("postpaid", i) for i in range(6)]
    for n, (mode, i) in enumerate(plan):
        company = n % 6 == 5
        name = (
            COMPANIES[(n // 6) % len(COMPANIES)]
            if company
            else f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}"
        )
        station = "DPL-CEN-01" if n % 2 == 0 else "DPL-CEN-02"
        customer = await customers.create_customer(
            session,
            SYSTEM,
            country_code=customers_country(settings),
            name=name,
            org_unit_id=units[station],
            kind="company" if company else "person",
            phone=f"07{rng.randrange(10, 99)}{rng.randrange(100000, 999999)}",
            id_number=None if company else f"{rng.randrange(10_000_000, 39_999_999)}",
            category="commercial" if company else "residential",
            language="sw" if n % 3 == 0 else "en",
        )
        point = points[n]
        if mode == "prepaid":
            tariff = tariffs["COM-SMALL"] if company else tariffs["DOM-LIFE"]
            meter = prepaid_meters[i]
        else:
            tariff = tariffs["DOM-POST"]
            meter = postpaid_meters[i]
        account = await customers.open_account(
            session,
            SYSTEM,
            customer_id=customer.id,
            supply_point_id=point.id,
            tariff_id=tariff.id,
            payment_mode=mode,
            fbe_eligible=mode == "prepaid" and not company and n % 4 == 0,
        )
        await _install(session, meter, point)
        await customers.set_account_status(
            session, SYSTEM, account.id, status="active", reason="demo: connected"
        )
        if n % 5 == 1:  # arrears taken over from the previous billing system
            async with session.begin():
                await ledger.post(
                    session,
                    SYSTEM,
                    kind="opening",
                    reference=f"opening:{account.id}",
                    description="Arrears taken over from the previous billing system",
                    org_unit_id=units[station],
                    lines=[
                        debit(
                            LedgerAccount.DEBT_RECEIVABLE,
                            150_000 + 10_000 * n,
                            settings.currency,
                            customer_account_id=account.id,
                        ),
                        credit(LedgerAccount.OPENING_BALANCES, 150_000 + 10_000 * n, settings.currency),
                    ],
                )
        made.append(DemoAccount(account.id, meter.meter_no, mode == "prepaid"))
    return made


def customers_country(settings: Settings) -> str:
    return settings.default_country_code


async def _operators(session: AsyncSession, settings: Settings) -> list[Actor]:
    """The demo cashiers (and the agent) as actors, plus a demo bank on the vendor API."""
    policy = policy_from_settings(settings)
    units, _ = await _ids(session)
    await auth.create_user(
        session,
        policy,
        SYSTEM,
        username="cashier2",
        full_name="Faith Chepkoech",
        password=DEMO_PASSWORD,
        roles={"cashier"},
        org_unit_id=units["DPL-CEN-02"],
    )
    bank, _key = await auth.create_api_client(
        session, SYSTEM, name="Demo Bank (ATM network)", role="api_client", org_unit_id=None
    )
    async with session.begin():
        users = {
            u.username: u
            for u in (
                await session.execute(select(User).where(User.username.in_(["cashier", "cashier2", "agent"])))
            )
            .scalars()
            .all()
        }
        paths = {u.id: u.path for u in (await session.execute(select(OrgUnit))).scalars().all()}
    actors = [
        Actor(
            kind="user",
            id=u.id,
            name=u.username,
            roles=frozenset({"agent" if name == "agent" else "cashier"}),
            org_unit_id=u.org_unit_id,
            org_path=paths.get(u.org_unit_id or 0),
        )
        for name, u in sorted(users.items())
    ]
    actors.append(
        Actor(kind="api_client", id=bank.id, name=bank.name, roles=frozenset({"api_client"}), realm="api")
    )
    return actors


async def _history(
    session: AsyncSession,
    settings: Settings,
    accounts: list[DemoAccount],
    actors: list[Actor],
    rng: random.Random,
    days: int = 60,
) -> int:
    """Purchases spread over the last ``days`` days, in time order (so TIDs increase per meter)."""
    engine = SoftwareTokenEngine.for_session(session, keystore_for(settings))
    prepaid = [a for a in accounts if a.prepaid]
    now = utcnow()
    moments: list[datetime] = []
    for day in range(days, 0, -1):
        for _ in range(rng.randrange(3, 8)):
            moments.append(now - timedelta(days=day, hours=rng.randrange(0, 10), minutes=rng.randrange(60)))
    sold = 0
    for i, moment in enumerate(sorted(moments)):
        actor = rng.choice(actors)
        account = rng.choice(prepaid)
        method = (
            "bank"
            if actor.kind == "api_client"
            else ("cash" if "agent" in actor.roles else rng.choice(["cash", "cash", "card", "mobile_money"]))
        )
        channel = {"api_client": "api"}.get(actor.kind, "agent" if "agent" in actor.roles else "station")
        outcome = await vending.purchase(
            session,
            settings,
            engine,
            actor,
            client_ref=f"demo-{i:05d}",
            now=moment,
            request=vending.PurchaseRequest(
                meter_number=account.meter_no,
                amount_minor=rng.choice([20_000, 30_000, 50_000, 100_000, 150_000, 250_000]),
                currency=settings.currency,
                payment_method=method,
                channel=channel,
            ),
        )
        sold += outcome.vend.status == "success"
    return sold


async def seed(session: AsyncSession, settings: Settings, *, with_history: bool = True) -> None:
    """Customers and accounts with installed meters; then (via ``before_history``) the key change
    campaign of the TID rollover; then 60 days of sales, whose first sale per moved meter carries the
    key change tokens."""
    rng = random.Random(SEED)
    accounts = await _accounts(session, settings, rng)
    actors = await _operators(session, settings)
    await demo_engineering.seed(session, settings)
    if with_history:
        await _history(session, settings, accounts, actors, rng)
