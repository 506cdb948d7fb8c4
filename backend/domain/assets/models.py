"""Tables of the assets context."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow

METER_KINDS = ("sts_keypad", "sts_smartcard", "ami", "postpaid")
METER_STATUSES = ("in_stock", "issued", "installed", "removed", "faulty", "scrapped")


class StockLocation(Base):
    """Where meters are kept when not installed: a warehouse, or a field crew's van."""

    __tablename__ = "stock_locations"
    __table_args__ = (CheckConstraint("kind IN ('warehouse', 'crew')", name="kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    active: Mapped[bool] = mapped_column(default=True)


class Meter(Base):
    """A meter and its STS configuration (never its keys: those are vending keys in the keys context).

    ``meter_no`` is the number printed on the meter: the DRN (11 digits for IIN 600727, 13 for IIN
    0000) including its Luhn check digit. STS fields are null for meters that take no tokens.
    """

    __tablename__ = "meters"
    __table_args__ = (
        CheckConstraint(f"kind IN {METER_KINDS!r}", name="kind"),
        CheckConstraint(f"status IN {METER_STATUSES!r}", name="status"),
        Index("ix_meters_supply_point", "supply_point_id"),
        Index(
            "uq_meters_installed_per_supply_point",
            "supply_point_id",
            unique=True,
            sqlite_where=text("status = 'installed'"),
            postgresql_where=text("status = 'installed'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_no: Mapped[str] = mapped_column(String(20), unique=True)
    iin: Mapped[str] = mapped_column(String(6), default="600727")
    kind: Mapped[str] = mapped_column(String(16))
    manufacturer: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    phases: Mapped[int] = mapped_column(Integer, default=1)
    serial_no: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="in_stock")
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    location_id: Mapped[int | None] = mapped_column(
        ForeignKey("stock_locations.id", ondelete="RESTRICT"), index=True, default=None
    )
    supply_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("supply_points.id", ondelete="RESTRICT"), default=None
    )
    # STS configuration (IEC 62055-41)
    sgc: Mapped[int | None] = mapped_column(Integer, default=None)  # supply group code, 6 digits
    ti: Mapped[int | None] = mapped_column(Integer, default=None)  # tariff index 0..99
    krn: Mapped[int | None] = mapped_column(Integer, default=None)  # key revision number 1..9
    kt: Mapped[int | None] = mapped_column(Integer, default=None)  # key type 0..3
    ea: Mapped[str | None] = mapped_column(String(2), default=None)  # "07", "09", "11"
    dkga: Mapped[str | None] = mapped_column(String(2), default=None)  # "02", "04"
    base_date: Mapped[int | None] = mapped_column(Integer, default=None)  # 1993, 2014, 2035
    ken: Mapped[int | None] = mapped_column(Integer, default=None)  # key expiry number 0..255
    last_tid: Mapped[int | None] = mapped_column(Integer, default=None)  # last TID issued to this meter
    installed_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class MeterMovement(Base):
    """One step of a meter's life: received, issued to a crew, installed, removed, faulty, scrapped."""

    __tablename__ = "meter_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16), default=None)
    to_status: Mapped[str] = mapped_column(String(16))
    from_location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id"), default=None)
    to_location_id: Mapped[int | None] = mapped_column(ForeignKey("stock_locations.id"), default=None)
    supply_point_id: Mapped[int | None] = mapped_column(ForeignKey("supply_points.id"), default=None)
    actor_name: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text, default=None)
