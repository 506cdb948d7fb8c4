"""Tables of the keys context."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class VendingKey(Base):
    """A vending key (VK) from the STS key management centre, identified by SGC, KRN and KT.

    The key material is stored only as AES-GCM ciphertext under the master key; ``master_key_id`` names
    the master key it is wrapped with (a fingerprint, not the key). The associated data binds the
    ciphertext to this row's identity, so a ciphertext copied to another row does not decrypt.
    """

    __tablename__ = "vending_keys"
    __table_args__ = (
        UniqueConstraint("sgc", "krn", "kt"),
        CheckConstraint("dkga IN ('02', '04')", name="dkga"),
        CheckConstraint("status IN ('active', 'retired')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sgc: Mapped[int] = mapped_column(Integer)
    krn: Mapped[int] = mapped_column(Integer)
    kt: Mapped[int] = mapped_column(Integer)
    dkga: Mapped[str] = mapped_column(String(2))
    base_date: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(200), default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    status: Mapped[str] = mapped_column(String(16), default="active")
    key_nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    key_ciphertext: Mapped[bytes] = mapped_column(LargeBinary(64))
    master_key_id: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class MeterKeyChange(Base):
    """A change of a meter's key data (SGC, TI, KRN, KT, base date, KEN) waiting to reach the meter.

    The vending issue turns a pending change into key change tokens, handed out before the meter's next
    credit token; only then does the meter's configuration take the new values.
    """

    __tablename__ = "meter_key_changes"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'issued', 'cancelled')", name="status"),
        Index(
            "uq_meter_key_changes_pending",
            "meter_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meter_id: Mapped[int] = mapped_column(ForeignKey("meters.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str] = mapped_column(String(200))
    old_sgc: Mapped[int] = mapped_column(Integer)
    old_ti: Mapped[int] = mapped_column(Integer)
    old_krn: Mapped[int] = mapped_column(Integer)
    old_kt: Mapped[int] = mapped_column(Integer)
    old_base_date: Mapped[int] = mapped_column(Integer)
    old_ken: Mapped[int] = mapped_column(Integer)
    new_sgc: Mapped[int] = mapped_column(Integer)
    new_ti: Mapped[int] = mapped_column(Integer)
    new_krn: Mapped[int] = mapped_column(Integer)
    new_kt: Mapped[int] = mapped_column(Integer)
    new_base_date: Mapped[int] = mapped_column(Integer)
    new_ken: Mapped[int] = mapped_column(Integer)
    rollover: Mapped[bool] = mapped_column(default=False)  # RO bit: clear the meter's TID memory
    campaign_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
