"""Tables of the auth context."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.base import Base
from backend.db.types import BigId, DateTimeUTC, utcnow


class User(Base):
    """A person who signs in: utility staff (realm ``staff``) or a customer on the portal (``customer``)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("realm IN ('staff', 'customer')", name="realm"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    realm: Mapped[str] = mapped_column(String(16), default="staff")
    password_hash: Mapped[str] = mapped_column(String(255))
    org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), default=None
    )
    email: Mapped[str | None] = mapped_column(String(200), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    granted_by: Mapped[str | None] = mapped_column(String(64), default=None)


class AuthSession(Base):
    """A browser session. Only hashes of the cookie value and of the CSRF token are stored."""

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTimeUTC())
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(300), default=None)
    revoked: Mapped[bool] = mapped_column(default=False)


class ApiClient(Base):
    """A bank, ATM network, aggregator or agent POS calling the vendor API with a bearer key.

    The key is ``gv_<prefix>_<secret>``; the prefix finds the row, the SHA-256 of the whole key
    proves it. The key itself is shown once, at creation, and never stored.
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    org_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id", ondelete="RESTRICT"), default=None
    )
    active: Mapped[bool] = mapped_column(default=True)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=600)
    created_at: Mapped[datetime] = mapped_column(DateTimeUTC(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC(), default=None)


class RateCounter(Base):
    """A fixed-window counter shared by every app process (login attempts, API client calls)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTimeUTC())
    count: Mapped[int] = mapped_column(Integer, default=0)
