"""Tables of the tariffs context."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class Tariff(Base):
    __tablename__ = "tariffs"
    __table_args__ = (CheckConstraint("payment_mode IN ('prepaid', 'postpaid', 'any')", name="payment_mode"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    payment_mode: Mapped[str] = mapped_column(String(16), default="any")
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class TariffVersion(Base):
    """One version of a tariff's price structure, in force from ``effective_from``.

    ``components`` is the JSON document of the structure (validated by ``rules.py``; rates are exact
    decimal strings). A draft can be edited; a published version never changes: it is superseded by a
    newer version with a later ``effective_from``.
    """

    __tablename__ = "tariff_versions"
    __table_args__ = (
        UniqueConstraint("tariff_id", "version_no"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tariff_id: Mapped[int] = mapped_column(ForeignKey("tariffs.id", ondelete="RESTRICT"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    effective_from: Mapped[datetime] = mapped_column(DateTimeUTC())
    components: Mapped[str] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    published_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    published_by: Mapped[str | None] = mapped_column(String(200), default=None)


class PublicHoliday(Base):
    """A public holiday in the utility's zone: time-of-use tariffs price it as a holiday day type."""

    __tablename__ = "public_holidays"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    name: Mapped[str] = mapped_column(String(200))
