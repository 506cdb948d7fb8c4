"""Imports every context's models so that ``metadata`` describes the whole schema (alembic, tests)."""

from __future__ import annotations

from backend.db.base import Base
from backend.domain.assets import models as assets_models
from backend.domain.audit import models as audit_models
from backend.domain.auth import models as auth_models
from backend.domain.customers import models as customers_models
from backend.domain.keys import models as keys_models
from backend.domain.ledger import models as ledger_models
from backend.domain.network import models as network_models
from backend.domain.notifications import models as notifications_models
from backend.domain.org import models as org_models
from backend.domain.tariffs import models as tariffs_models
from backend.domain.vending import models as vending_models

metadata = Base.metadata

__all__ = [
    "assets_models",
    "audit_models",
    "auth_models",
    "customers_models",
    "keys_models",
    "ledger_models",
    "metadata",
    "network_models",
    "notifications_models",
    "org_models",
    "tariffs_models",
    "vending_models",
]
