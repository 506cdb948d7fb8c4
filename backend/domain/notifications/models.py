"""Tables of the notifications context."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class OutboxMessage(Base):
    """A message queued for delivery, written in the same transaction as the event that caused it."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        CheckConstraint("channel IN ('sms', 'email')", name="channel"),
        CheckConstraint("status IN ('queued', 'sending', 'sent', 'failed')", name="status"),
        Index("ix_notification_outbox_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), default="sms")
    recipient: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reference: Mapped[str | None] = mapped_column(String(100), default=None)  # e.g. "tariff_version:12"
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), default=None
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(400), default=None)
    provider_message_id: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
