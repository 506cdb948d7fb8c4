"""A complete, vendable world for vending tests: org, tariff in force, vending key, meter, account.

Rows are made through the models (fast); the vending key goes through the real key store.
"""

from __future__ import annotations

import itertools
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

import sts
from backend.db.types import utcnow
from backend.domain.actor import SYSTEM, Actor
from backend.domain.assets.models import Meter
from backend.domain.customers.models import Account, Customer
from backend.domain.keys import service as keys
from backend.domain.keys.keystore import init_master_file
from backend.domain.keys.rules import SecretBytes
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs.models import Tariff, TariffVersion
from backend.settings import Settings

_n = itertools.count(1)

BLOCK_TARIFF = {
    "energy": {
        "kind": "block",
        "blocks": [{"up_to_kwh": "50", "rate": "12.00"}, {"up_to_kwh": None, "rate": "20.00"}],
    },
    "fixed_charges": [{"name": "Monthly service charge", "amount_minor": 15000, "taxable": True}],
    "taxes": [{"name": "VAT", "percent": "16", "applies_to": "all"}, {"name": "REP levy", "percent": "5"}],
    "free_basic": {"kwh_per_month": "10"},
    "debt_recovery": {"mode": "percent", "percent": "25", "ceiling_minor": 200000},
    "min_purchase_minor": 5000,
    "max_purchase_minor": 5000000,
}


def drn(mfr: str = "04") -> str:
    """A valid 11-digit DRN (IIN 600727): MfrCode(2) + DSN(8) + Luhn check digit."""
    body = mfr + f"{secrets.randbelow(10**8):08d}"
    return body + str(sts.luhn_check_digit(body))


def _ensure_master_key(settings: Settings) -> None:
    if not Path(settings.master_key_file).exists():
        init_master_file(settings.master_key_file)


@dataclass(frozen=True)
class World:
    org_unit_id: int
    station_id: int
    tariff_id: int
    meter_id: int
    meter_no: str
    account_id: int
    customer_id: int
    decoder_key: bytes
    cashier: Actor
    sgc: int
    base_date: int
    ea: str


async def build_world(
    session: AsyncSession,
    settings: Settings,
    *,
    structure: dict[str, object] | None = None,
    debt_minor: int = 0,
    fbe_eligible: bool = False,
    base_date: int = 2014,
    ea: str = "07",
    dkga: str = "02",
    vending_key: bytes | None = None,
) -> World:
    n = next(_n)
    _ensure_master_key(settings)
    store = keys.keystore_for(settings)
    key = vending_key or (secrets.token_bytes(8) if dkga == "02" else secrets.token_bytes(20))
    sgc = 100000 + n
    async with session.begin():
        utility = OrgUnit(kind="utility", code=f"W{n}", name=f"World utility {n}", path="")
        session.add(utility)
        await session.flush()
        utility.path = f"/{utility.id}/"
        station = OrgUnit(kind="station", code=f"W{n}-ST", name="Station", parent_id=utility.id, path="")
        session.add(station)
        await session.flush()
        station.path = f"{utility.path}{station.id}/"
        tariff = Tariff(
            code=f"WT{n}", name="World block tariff", payment_mode="any", currency=settings.currency
        )
        session.add(tariff)
        await session.flush()
        session.add(
            TariffVersion(
                tariff_id=tariff.id,
                version_no=1,
                status="published",
                effective_from=utcnow() - timedelta(days=90),
                components=json.dumps(structure or BLOCK_TARIFF),
                created_by="test",
                published_at=utcnow() - timedelta(days=90),
                published_by="test",
            )
        )
        customer = Customer(
            customer_no=f"CW{n:06d}", name=f"Wanjiku Test {n}", org_unit_id=utility.id, phone="+254700000000"
        )
        point = SupplyPoint(code=f"SPW{n}", org_unit_id=utility.id, address=f"{n} Vend Street")
        session.add_all([customer, point])
        await session.flush()
        meter_no = drn()
        meter = Meter(
            meter_no=meter_no,
            iin="600727",
            kind="sts_keypad",
            manufacturer="Test",
            model="K1",
            status="installed",
            org_unit_id=utility.id,
            supply_point_id=point.id,
            sgc=sgc,
            ti=1,
            krn=1,
            kt=2,
            ea=ea,
            dkga=dkga,
            base_date=base_date,
            ken=255,
            installed_at=utcnow(),
        )
        account = Account(
            account_no=f"AW{n:06d}",
            customer_id=customer.id,
            supply_point_id=point.id,
            tariff_id=tariff.id,
            payment_mode="prepaid",
            status="active",
            org_unit_id=utility.id,
            currency=settings.currency,
            opened_at=utcnow(),
            fbe_eligible=fbe_eligible,
        )
        session.add_all([meter, account])
        await session.flush()
        ids = (utility.id, station.id, tariff.id, meter.id, account.id, customer.id)
    await keys.import_vending_key(
        session,
        store,
        SYSTEM,
        sgc=sgc,
        krn=1,
        kt=2,
        dkga=dkga,
        base_date=base_date,
        material=SecretBytes(key),
    )
    if debt_minor:
        from backend.domain.ledger import service as ledger
        from backend.domain.ledger.rules import LedgerAccount as L
        from backend.domain.ledger.rules import credit, debit

        async with session.begin():
            await ledger.post(
                session,
                SYSTEM,
                kind="opening",
                reference=f"opening:{ids[4]}",
                description="arrears taken over",
                lines=[
                    debit(L.DEBT_RECEIVABLE, debt_minor, settings.currency, customer_account_id=ids[4]),
                    credit(L.OPENING_BALANCES, debt_minor, settings.currency),
                ],
            )
    decoder_key = sts.derive_decoder_key(
        dkga=dkga,
        vending_key=key,
        iin="600727",
        drn=meter_no,
        kt=2,
        sgc=sgc,
        ti=1,
        krn=1,
        base_date=base_date,
        ea=ea,
    )
    cashier = Actor(
        kind="user",
        id=10_000 + n,
        name=f"cashier{n}",
        roles=frozenset({"cashier"}),
        org_unit_id=ids[1],
        org_path=f"/{ids[0]}/{ids[1]}/",
    )
    return World(
        ids[0], ids[1], ids[2], ids[3], meter_no, ids[4], ids[5], decoder_key, cashier, sgc, base_date, ea
    )


def virtual_meter(world: World) -> sts.VirtualMeter:
    """The customer's meter: it holds the decoder key the vending key derives for it."""
    return sts.VirtualMeter(
        decoder_key=world.decoder_key,
        ea=world.ea,
        kt=2,
        krn=1,
        ti=1,
        sgc=f"{world.sgc:06d}",
        base_date=world.base_date,
        manufactured_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
