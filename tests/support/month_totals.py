"""What an account keeps of its latest month's sales, beside the sum of those sales (tests compare them)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.customers.models import Account
from backend.domain.vending.models import Vend

Totals = tuple[int, int, int, int]  # energy Wh, fixed charges, free basic Wh, debt recovered


async def kept_and_summed(session: AsyncSession, account: Account) -> tuple[str | None, Totals, Totals]:
    """The account's kept month and totals, and the sums of its successful sales of that month (in the
    caller's transaction)."""
    kept = (
        account.month_energy_wh,
        account.month_fixed_minor,
        account.month_fbe_wh,
        account.month_debt_recovered_minor,
    )
    energy, fixed, fbe, debt = (
        await session.execute(
            select(
                func.coalesce(func.sum(Vend.energy_wh), 0),
                func.coalesce(func.sum(Vend.fixed_minor), 0),
                func.coalesce(func.sum(Vend.fbe_wh), 0),
                func.coalesce(func.sum(Vend.debt_recovered_minor), 0),
            ).where(
                Vend.account_id == account.id,
                Vend.status == "success",
                Vend.local_month == account.sales_month,
            )
        )
    ).one()
    return account.sales_month, kept, (int(energy), int(fixed), int(fbe), int(debt))
