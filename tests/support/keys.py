"""Helpers for keys tests: master key files, vending keys with known material, STS meter rows and
virtual meters built independently of the engine (with :func:`sts.derive_decoder_key`)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import sts
from backend.db.engine import create_engine, create_sessionmaker
from backend.domain.actor import SYSTEM
from backend.domain.assets.models import Meter
from backend.domain.keys import service
from backend.domain.keys.keystore import SoftwareKeyStore, init_master_file, load_keystore
from backend.domain.keys.models import VendingKey
from backend.domain.keys.rules import DKGA_KEY_LENGTHS, MeterKeyData, SecretBytes, key_material_problem
from backend.domain.org.models import OrgUnit
from backend.settings import Settings


def random_material(dkga: str) -> bytes:
    while True:
        material = secrets.token_bytes(DKGA_KEY_LENGTHS[dkga])
        if key_material_problem(material, dkga) is None:
            return material


def keystore(settings: Settings) -> SoftwareKeyStore:
    """The key store of the test's master key file (created on first use)."""
    if not Path(settings.master_key_file).exists():
        init_master_file(settings.master_key_file)
    return load_keystore(settings.master_key_file)


@asynccontextmanager
async def db_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def import_key(
    session: AsyncSession,
    store: SoftwareKeyStore,
    *,
    sgc: int,
    krn: int,
    kt: int = 2,
    dkga: str = "02",
    base_date: int = 1993,
    material: bytes | None = None,
) -> tuple[VendingKey, bytes]:
    """Import a vending key; return its row and its material (tests need it to build virtual meters)."""
    material = material or random_material(dkga)
    row = await service.import_vending_key(
        session,
        store,
        SYSTEM,
        sgc=sgc,
        krn=krn,
        kt=kt,
        dkga=dkga,
        base_date=base_date,
        material=SecretBytes(material),
        label=f"test {sgc} {krn}",
    )
    return row, material


async def org_unit_id(session: AsyncSession, code: str | None = None) -> int:
    """The id of the org unit with ``code``; without a code, the utility (created when missing)."""
    query = (
        select(OrgUnit.id).where(OrgUnit.code == code)
        if code
        else select(OrgUnit.id).where(OrgUnit.kind == "utility")
    )
    found = (await session.execute(query)).scalar_one_or_none()
    await session.rollback()
    if found is not None:
        return int(found)
    from backend.domain.org.service import create_unit

    return (await create_unit(session, SYSTEM, kind="utility", code="TST", name="Test", parent_id=None)).id


@dataclass(frozen=True)
class MeterSpec:
    n: int
    sgc: int = 123456
    krn: int = 1
    kt: int = 2
    ti: int = 1
    ea: str = "07"
    dkga: str = "02"
    base_date: int = 1993
    ken: int = 255
    mfr: str = "04"

    @property
    def drn(self) -> str:
        return sts.drn_from_parts(self.mfr, f"{self.n:08d}")


async def make_meter(session: AsyncSession, unit_id: int, spec: MeterSpec) -> Meter:
    """An installed-in-stock STS meter row (the assets context owns the table; tests insert directly)."""
    async with session.begin():
        meter = Meter(
            meter_no=spec.drn,
            iin="600727",
            kind="sts_keypad",
            manufacturer="Hexing",
            model="HXE110",
            org_unit_id=unit_id,
            sgc=spec.sgc,
            ti=spec.ti,
            krn=spec.krn,
            kt=spec.kt,
            ea=spec.ea,
            dkga=spec.dkga,
            base_date=spec.base_date,
            ken=spec.ken,
        )
        session.add(meter)
    return meter


def decoder_key(data: MeterKeyData, material: bytes) -> bytes:
    return sts.derive_decoder_key(
        dkga=data.dkga,
        vending_key=material,
        iin=data.iin,
        drn=data.drn,
        kt=data.kt,
        sgc=data.sgc,
        ti=data.ti,
        krn=data.krn,
        base_date=data.base_date,
        ea=data.ea,
    )


def virtual_meter(data: MeterKeyData, material: bytes, *, manufacture_tid: int = 0) -> sts.VirtualMeter:
    """A virtual meter loaded with the decoder key derived (independently of the engine) from ``material``."""
    return sts.VirtualMeter(
        decoder_key=decoder_key(data, material),
        ea=data.ea,
        kt=data.kt,
        krn=data.krn,
        ti=data.ti,
        ken=data.ken,
        sgc=f"{data.sgc:06d}",
        base_date=data.base_date,
        manufacture_tid=manufacture_tid,
    )
