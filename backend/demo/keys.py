"""Demo vending keys: random material made at seed time (never a real key), stored through the key store.

* SGC 123456 KRN 1 KT 2, DKGA02, base 1993 — the supply group awaiting its move to base date 2014;
* SGC 123456 KRN 2 KT 2, DKGA02, base 2014 — the target of that move;
* SGC 600999 KRN 1 KT 2, DKGA04 (160-bit), base 2014.

The master key file is created here when it is missing (only in this demo path; production creates it
with `gridvend keys init-master`).
"""

from __future__ import annotations

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from backend.domain.actor import SYSTEM
from backend.domain.keys import service
from backend.domain.keys.keystore import ensure_master_file
from backend.domain.keys.rules import DKGA_KEY_LENGTHS, SecretBytes, key_material_problem
from backend.settings import Settings

DEMO_KEYS = (
    (123456, 1, 2, "02", 1993, "Demo SGC 123456 (base 1993, awaiting the 2014 rollover)"),
    (123456, 2, 2, "02", 2014, "Demo SGC 123456 after the TID rollover"),
    (600999, 1, 2, "04", 2014, "Demo SGC 600999 (DKGA04)"),
)


def _random_key(dkga: str) -> SecretBytes:
    while True:
        material = secrets.token_bytes(DKGA_KEY_LENGTHS[dkga])
        if key_material_problem(material, dkga) is None:
            return SecretBytes(material)


async def seed(session: AsyncSession, settings: Settings) -> None:
    ensure_master_file(settings.master_key_file)
    store = service.keystore_for(settings)
    for sgc, krn, kt, dkga, base_date, label in DEMO_KEYS:
        await service.import_vending_key(
            session,
            store,
            SYSTEM,
            sgc=sgc,
            krn=krn,
            kt=kt,
            dkga=dkga,
            base_date=base_date,
            material=_random_key(dkga),
            label=label,
        )
