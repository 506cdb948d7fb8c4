"""Minimal master-data rows made straight through the models, for tests of other contexts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.types import utcnow
from backend.domain.customers.models import Account, Customer
from backend.domain.network.models import SupplyPoint
from backend.domain.org.models import OrgUnit
from backend.domain.tariffs.models import Tariff

_counter = itertools.count(1)


@dataclass(frozen=True)
class AccountRows:
    org_unit_id: int
    customer_id: int
    supply_point_id: int
    tariff_id: int
    account_id: int


async def make_account(
    session: AsyncSession, *, currency: str = "KES", payment_mode: str = "prepaid"
) -> AccountRows:
    """A utility org unit, a tariff, a customer, a supply point and an active account (committed)."""
    n = next(_counter)
    async with session.begin():
        unit = OrgUnit(kind="utility", code=f"T{n}", name=f"Test utility {n}", path="")
        session.add(unit)
        await session.flush()
        unit.path = f"/{unit.id}/"
        tariff = Tariff(code=f"TT{n}", name="Test tariff", payment_mode="any", currency=currency)
        customer = Customer(customer_no=f"CT{n:06d}", name=f"Test Customer {n}", org_unit_id=unit.id)
        point = SupplyPoint(code=f"SPT{n}", org_unit_id=unit.id, address=f"{n} Test Road")
        session.add_all([tariff, customer, point])
        await session.flush()
        account = Account(
            account_no=f"AT{n:06d}",
            customer_id=customer.id,
            supply_point_id=point.id,
            tariff_id=tariff.id,
            payment_mode=payment_mode,
            status="active",
            org_unit_id=unit.id,
            currency=currency,
            opened_at=utcnow(),
        )
        session.add(account)
        await session.flush()
        return AccountRows(unit.id, customer.id, point.id, tariff.id, account.id)
