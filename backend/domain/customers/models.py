"""Tables of the customers context."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class Customer(Base):
    """A person or company supplied by the utility."""

    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("kind IN ('person', 'company')", name="kind"),
        CheckConstraint("category IN ('residential', 'commercial', 'industrial')", name="category"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_no: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="person")
    name: Mapped[str] = mapped_column(String(200))
    id_number: Mapped[str | None] = mapped_column(String(40), default=None)
    phone: Mapped[str | None] = mapped_column(String(20), default=None)  # E.164, e.g. +254712345678
    phone2: Mapped[str | None] = mapped_column(String(20), default=None)
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    language: Mapped[str] = mapped_column(String(8), default="en")
    category: Mapped[str] = mapped_column(String(16), default="residential")
    postal_address: Mapped[str | None] = mapped_column(String(400), default=None)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    portal_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class Account(Base):
    """A customer's supply contract at one supply point, on one tariff, prepaid or postpaid.

    Lifecycle: applied → active → suspended → closed. At most one open (not closed) account per supply
    point; change of tenancy closes one and opens the next while the meter stays. ``credit_minor`` is
    money held for the customer (e.g. the remainder of a purchase below 0.1 kWh); ``debt_minor`` is
    what the customer owes and debt recovery collects. Both move only with ledger postings.

    ``sales_month`` and the ``month_*`` columns are the prepaid sales of the latest month the account
    bought in (the month as "2026-11" in the utility's zone): energy, fixed charges collected, free
    basic electricity and debt recovered. Every sale keeps them (``backend.domain.vending``), so a
    sale reads its month-to-date figures from the row it locks, or whose unchanged state its write
    requires, instead of adding up the month's sales.
    """

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("payment_mode IN ('prepaid', 'postpaid')", name="payment_mode"),
        CheckConstraint("status IN ('applied', 'active', 'suspended', 'closed')", name="status"),
        CheckConstraint("credit_minor >= 0", name="credit_not_negative"),
        CheckConstraint("debt_minor >= 0", name="debt_not_negative"),
        Index(
            "uq_accounts_open_per_supply_point",
            "supply_point_id",
            unique=True,
            sqlite_where=text("status <> 'closed'"),
            postgresql_where=text("status <> 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_no: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"), index=True)
    supply_point_id: Mapped[int] = mapped_column(ForeignKey("supply_points.id", ondelete="RESTRICT"))
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="RESTRICT"), index=True)
    payment_mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="applied")
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    fbe_eligible: Mapped[bool] = mapped_column(default=False)
    credit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    debt_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    sales_month: Mapped[str | None] = mapped_column(String(7), default=None)
    month_energy_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    month_fixed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    month_fbe_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    month_debt_recovered_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    close_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    previous_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class SearchTerm(Base):
    """Index rows for the customer search: name words, phone numbers, account and meter numbers.

    A prefix search is a range scan on (term) on both databases, so it stays fast at 100,000+ customers
    where ``LIKE '%x%'`` would read every row.
    """

    __tablename__ = "customer_search_terms"
    __table_args__ = (Index("ix_customer_search_terms_term", "term", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    term: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # name, phone, account, meter, customer_no, id_number
