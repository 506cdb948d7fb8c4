"""Tables of the organisation context."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class OrgUnit(Base):
    """A node of the utility's organisation tree: utility → region → station.

    ``path`` is the materialised chain of ids (``/1/4/9/``), so "this unit and everything below it"
    is one indexed prefix match.
    """

    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint("kind IN ('utility', 'region', 'station')", name="kind"),
        Index("ix_org_units_path", "path"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), default=None
    )
    path: Mapped[str] = mapped_column(String(400), default="")
    address: Mapped[str | None] = mapped_column(String(400), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
