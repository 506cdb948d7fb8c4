"""Tables of the vending context."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class Vend(Base):
    """One sale attempt, keyed by the caller and the caller's reference (idempotency key).

    A successful vend holds its tokens (``vend_tokens``) and its ledger posting, all written in one
    transaction. A failed one records why, so that the same reference always gives the same answer.
    Money columns are minor units of ``currency``; energy is Wh.
    """

    __tablename__ = "vends"
    __table_args__ = (
        UniqueConstraint("client_key", "client_ref"),
        CheckConstraint("status IN ('success', 'failed')", name="status"),
        Index("ix_vends_account_month", "account_id", "local_month"),
        Index("ix_vends_meter_created", "meter_id", "created_at"),
        Index("ix_vends_org_created", "org_unit_id", "created_at"),
        Index("ix_vends_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64))  # "api_client:3", "user:12"
    client_ref: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    receipt_no: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    kind: Mapped[str] = mapped_column(String(16), default="purchase")
    status: Mapped[str] = mapped_column(String(16))
    failure_code: Mapped[str | None] = mapped_column(String(32), default=None)
    failure_detail: Mapped[str | None] = mapped_column(String(400), default=None)
    channel: Mapped[str] = mapped_column(String(16))
    payment_method: Mapped[str] = mapped_column(String(16))
    payment_ref: Mapped[str | None] = mapped_column(String(64), default=None)
    meter_no: Mapped[str] = mapped_column(String(20))
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"), default=None)
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="RESTRICT"), default=None
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), default=None
    )
    tariff_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("tariff_versions.id", ondelete="RESTRICT"), default=None
    )
    org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), default=None
    )
    operator_name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    tender_minor: Mapped[int] = mapped_column(BigInteger)
    credit_used_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    debt_recovered_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fixed_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    energy_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    change_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # kept as customer credit
    energy_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    fbe_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    local_month: Mapped[str] = mapped_column(String(7))  # "2026-11" in the utility's zone
    receipt: Mapped[str] = mapped_column(Text, default="{}")  # receipt lines (JSON)
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)


class VendToken(Base):
    """A token handed out by a vend, in the order the customer must enter it."""

    __tablename__ = "vend_tokens"
    __table_args__ = (UniqueConstraint("vend_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    vend_id: Mapped[int] = mapped_column(ForeignKey("vends.id", ondelete="RESTRICT"), index=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))  # key_change, credit, free_basic, management, test
    token: Mapped[str] = mapped_column(String(20))
    subclass: Mapped[int] = mapped_column(Integer)
    tid: Mapped[int | None] = mapped_column(Integer, default=None)
    units_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    description: Mapped[str] = mapped_column(String(200))


class VendRequest(Base):
    """An idempotent follow-up call on a vend: confirmation, reversal request, reprint."""

    __tablename__ = "vend_requests"
    __table_args__ = (
        UniqueConstraint("client_key", "kind", "client_ref"),
        CheckConstraint("kind IN ('confirmation', 'reversal', 'reprint')", name="kind"),
        CheckConstraint(
            "status IN ('done', 'refused', 'pending_approval', 'approved', 'rejected')", name="status"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    client_ref: Mapped[str] = mapped_column(String(64))
    vend_id: Mapped[int] = mapped_column(ForeignKey("vends.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(400), default=None)
    requested_by: Mapped[str] = mapped_column(String(200))
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_transactions.id"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class ReceiptCounter(Base):
    """Per org unit and day, the last receipt sequence number handed out (locked while incremented)."""

    __tablename__ = "receipt_counters"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    last: Mapped[int] = mapped_column(BigInteger, default=0)


class Shift(Base):
    """A cashier's shift at a vending station, closed by the end-of-shift cash-up (Z-report)."""

    __tablename__ = "shifts"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        Index(
            "uq_shifts_open_per_user",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    operator_name: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    opening_float_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    expected_cash_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    declared_cash_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    totals: Mapped[str] = mapped_column(Text, default="{}")  # per tender type, counts, kWh (JSON)
    z_report_no: Mapped[str | None] = mapped_column(String(40), unique=True, default=None)
    currency: Mapped[str] = mapped_column(String(3))


class EngineeringToken(Base):
    """A management, test, free-issue or credit-transfer token for a meter, asked for by an engineer.

    Clear credit and free issue need a second person's approval before the token is made.
    """

    __tablename__ = "engineering_tokens"
    __table_args__ = (
        CheckConstraint("status IN ('pending_approval', 'issued', 'rejected')", name="status"),
        Index("ix_engineering_tokens_meter", "meter_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"))
    function: Mapped[str] = mapped_column(String(32))
    value: Mapped[int | None] = mapped_column(BigInteger, default=None)
    units_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    from_meter_id: Mapped[int | None] = mapped_column(
        ForeignKey("meters.id", ondelete="RESTRICT"), default=None
    )
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(400))
    requested_by: Mapped[str] = mapped_column(String(200))
    requester_key: Mapped[str] = mapped_column(String(64), default="")  # "user:12": who may not approve
    request_key: Mapped[str | None] = mapped_column(  # "user:12|<caller's id>" for idempotent requests
        String(200), unique=True, default=None
    )
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    tokens: Mapped[str] = mapped_column(Text, default="[]")  # issued tokens (JSON: digits, kind, tid, ...)
    org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class KeyChangeCampaign(Base):
    """Moves every meter matching a filter (SGC, KRN, base date) to new key data; each meter's key
    change tokens go out with its next purchase. Progress = its meter_key_changes by status."""

    __tablename__ = "key_change_campaigns"
    __table_args__ = (CheckConstraint("status IN ('running', 'finished', 'cancelled')", name="status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    filter_sgc: Mapped[int | None] = mapped_column(Integer, default=None)
    filter_krn: Mapped[int | None] = mapped_column(Integer, default=None)
    filter_base_date: Mapped[int | None] = mapped_column(Integer, default=None)
    new_sgc: Mapped[int | None] = mapped_column(Integer, default=None)
    new_krn: Mapped[int | None] = mapped_column(Integer, default=None)
    new_ti: Mapped[int | None] = mapped_column(Integer, default=None)
    new_base_date: Mapped[int | None] = mapped_column(Integer, default=None)
    new_ken: Mapped[int | None] = mapped_column(Integer, default=None)
    status: Mapped[str] = mapped_column(String(16), default="running")
    meters_total: Mapped[int] = mapped_column(Integer, default=0)
    meters_skipped: Mapped[int] = mapped_column(Integer, default=0)  # already had a pending change
    meters_failed: Mapped[int] = mapped_column(Integer, default=0)  # refused by the key change rules
    report: Mapped[str] = mapped_column(Text, default="[]")  # failures (JSON: meter_no, problem)
    org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
