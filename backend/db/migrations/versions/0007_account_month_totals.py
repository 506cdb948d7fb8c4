"""accounts: the month-to-date sales kept on the account row

A prepaid sale needs the account's energy, fixed charges, free basic electricity and debt recovered
so far this month. They are now kept on the account row by every sale (``sales_month`` and the
``month_*`` columns, see ``backend.domain.customers.models.Account``), filled here from the sales of
each account's latest month.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOTALS = ("month_energy_wh", "month_fixed_minor", "month_fbe_wh", "month_debt_recovered_minor")


def upgrade() -> None:
    # Plain ADD COLUMN (not a batch): SQLite adds a column in place, where a batch would copy the
    # table, which other tables' foreign keys refer to.
    op.add_column("accounts", sa.Column("sales_month", sa.String(length=7), nullable=True))
    for column in TOTALS:
        op.add_column("accounts", sa.Column(column, sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE accounts SET sales_month = (SELECT max(vends.local_month) FROM vends "
        "WHERE vends.account_id = accounts.id AND vends.status = 'success')"
    )
    # Each total: the account's successful sales of its sales month.
    op.execute(
        """
        UPDATE accounts SET
          month_energy_wh = (SELECT coalesce(sum(v.energy_wh), 0) FROM vends v
            WHERE v.account_id = accounts.id AND v.status = 'success'
              AND v.local_month = accounts.sales_month),
          month_fixed_minor = (SELECT coalesce(sum(v.fixed_minor), 0) FROM vends v
            WHERE v.account_id = accounts.id AND v.status = 'success'
              AND v.local_month = accounts.sales_month),
          month_fbe_wh = (SELECT coalesce(sum(v.fbe_wh), 0) FROM vends v
            WHERE v.account_id = accounts.id AND v.status = 'success'
              AND v.local_month = accounts.sales_month),
          month_debt_recovered_minor = (SELECT coalesce(sum(v.debt_recovered_minor), 0) FROM vends v
            WHERE v.account_id = accounts.id AND v.status = 'success'
              AND v.local_month = accounts.sales_month)
        WHERE sales_month IS NOT NULL
        """
    )


def downgrade() -> None:
    for column in (*reversed(TOTALS), "sales_month"):
        op.drop_column("accounts", column)  # SQLite 3.35 and later drop a column in place
