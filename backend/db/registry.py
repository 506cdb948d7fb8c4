"""Imports every context's models so that ``metadata`` describes the whole schema (alembic, tests)."""

from __future__ import annotations

from backend.db.base import Base
from backend.domain.audit import models as audit_models
from backend.domain.auth import models as auth_models
from backend.domain.org import models as org_models

metadata = Base.metadata

__all__ = ["audit_models", "auth_models", "metadata", "org_models"]
