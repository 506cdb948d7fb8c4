"""Tables of the network context."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class NetworkNode(Base):
    """A substation, feeder or transformer. ``path`` is the materialised chain of ids (``/3/8/21/``)."""

    __tablename__ = "network_nodes"
    __table_args__ = (
        CheckConstraint("kind IN ('substation', 'feeder', 'transformer')", name="kind"),
        Index("ix_network_nodes_path", "path"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("network_nodes.id", ondelete="RESTRICT"), default=None
    )
    path: Mapped[str] = mapped_column(String(400), default="")
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    voltage_kv: Mapped[Decimal | None] = mapped_column(Numeric(8, 3), default=None)
    rating_kva: Mapped[int | None] = mapped_column(Integer, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class SupplyPoint(Base):
    """The place where electricity is delivered to a customer (service point), fed by a transformer."""

    __tablename__ = "supply_points"
    __table_args__ = (CheckConstraint("phases IN (1, 3)", name="phases"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    transformer_id: Mapped[int | None] = mapped_column(
        ForeignKey("network_nodes.id", ondelete="RESTRICT"), index=True, default=None
    )
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="RESTRICT"), index=True)
    address: Mapped[str] = mapped_column(String(400))
    town: Mapped[str | None] = mapped_column(String(120), default=None)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6), default=None)
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6), default=None)
    phases: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
