"""Tables of the ledger context. Both tables are append-only (database triggers refuse changes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class LedgerTransaction(Base):
    """One balanced posting: a vend, a payment, a reversal, a credit note, an adjustment."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_reference", "reference"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(300))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"), default=None)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), default=None, index=True)
    actor_name: Mapped[str] = mapped_column(String(200))


class LedgerEntry(Base):
    """One line of a posting. ``amount_minor``: positive debit, negative credit."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account_currency", "account", "currency"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    customer_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), default=None, index=True
    )
    memo: Mapped[str | None] = mapped_column(String(200), default=None)
