"""Key store: AES-GCM wrapping under the master key file, AAD binding, rewrap, master file checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from backend.domain.actor import SYSTEM
from backend.domain.errors import Conflict, InvalidInput
from backend.domain.keys import service
from backend.domain.keys.keystore import (
    KeyStoreUnavailable,
    KeyUnwrapError,
    SoftwareKeyStore,
    WrappedKey,
    fingerprint,
    init_master_file,
    load_keystore,
    new_master_key,
    read_master_file,
)
from backend.domain.keys.models import VendingKey
from backend.domain.keys.rules import KeyBinding, SecretBytes
from backend.settings import Settings
from tests.support.keys import db_session, import_key, keystore, random_material

BINDING = KeyBinding(123456, 1, 2, "02", 1993)


def test_wrap_unwrap_round_trip_with_fresh_nonces() -> None:
    store = SoftwareKeyStore(new_master_key())
    material = SecretBytes(random_material("02"))
    first, second = store.wrap(material, BINDING), store.wrap(material, BINDING)
    assert len(first.nonce) == 12 and first.nonce != second.nonce and first.ciphertext != second.ciphertext
    assert material.reveal() not in first.ciphertext
    assert store.unwrap(first, BINDING) == material and store.unwrap(second, BINDING) == material
    assert first.master_key_id == store.master_key_id and len(store.master_key_id) == 16


def test_a_different_master_key_fails_with_a_clear_error() -> None:
    store, other = SoftwareKeyStore(new_master_key()), SoftwareKeyStore(new_master_key())
    wrapped = store.wrap(SecretBytes(random_material("02")), BINDING)
    with pytest.raises(KeyUnwrapError, match=f"wrapped with master key {store.master_key_id}"):
        other.unwrap(wrapped, BINDING)
    # even if the row claims the other master key, AES-GCM refuses it
    forged = WrappedKey(wrapped.nonce, wrapped.ciphertext, other.master_key_id)
    with pytest.raises(KeyUnwrapError, match="does not decrypt"):
        other.unwrap(forged, BINDING)


@given(
    field=st.sampled_from(["sgc", "krn", "kt", "dkga", "base_date"]),
)
def test_ciphertext_is_bound_to_its_row_identity(field: str) -> None:
    store = SoftwareKeyStore(SecretBytes(bytes(range(32))))
    wrapped = store.wrap(SecretBytes(random_material("02")), BINDING)
    changed = {"sgc": 123457, "krn": 2, "kt": 1, "dkga": "04", "base_date": 2014}[field]
    other = KeyBinding(**{**{f: getattr(BINDING, f) for f in BINDING.__slots__}, field: changed})
    with pytest.raises(KeyUnwrapError):
        store.unwrap(wrapped, other)


def test_secrets_do_not_show_themselves() -> None:
    material = random_material("04")
    secret = SecretBytes(material)
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}"):
        assert material.hex() not in text.lower() and "redacted" in text
    with pytest.raises(TypeError):
        hash(secret)
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert "master" in repr(SoftwareKeyStore(SecretBytes(material[:16] * 2)))


def test_master_key_file_is_created_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "master.key"
    key_id = init_master_file(path)
    assert (path.stat().st_mode & 0o777) == 0o600
    text = path.read_text()
    assert len(text) == 65 and text.endswith("\n")
    assert fingerprint(bytes.fromhex(text.strip())) == key_id == load_keystore(path).master_key_id
    with pytest.raises(KeyStoreUnavailable, match="never overwritten"):
        init_master_file(path)
    assert path.read_text() == text


def test_unusable_master_key_files_are_refused_with_advice(tmp_path: Path) -> None:
    missing = tmp_path / "none.key"
    with pytest.raises(KeyStoreUnavailable, match=r"does not exist.*gridvend keys init-master"):
        read_master_file(missing)
    short = tmp_path / "short.key"
    short.write_text("abcd\n")
    short.chmod(0o600)
    with pytest.raises(KeyStoreUnavailable, match="64 hex digits"):
        read_master_file(short)
    open_to_all = tmp_path / "open.key"
    init_master_file(open_to_all)
    open_to_all.chmod(0o644)
    with pytest.raises(KeyStoreUnavailable, match="chmod 600"):
        read_master_file(open_to_all)
    group = tmp_path / "group.key"
    init_master_file(group)
    group.chmod(0o640)
    assert len(read_master_file(group)) == 32  # wider than 0600 but not world: a warning only
    if os.geteuid() != 0:  # root reads everything
        unreadable = tmp_path / "unreadable.key"
        init_master_file(unreadable)
        unreadable.chmod(0o000)
        with pytest.raises(KeyStoreUnavailable):
            read_master_file(unreadable)


async def test_rows_swapped_in_the_database_do_not_decrypt(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        a, _ = await import_key(session, store, sgc=123456, krn=1)
        b, _ = await import_key(session, store, sgc=123456, krn=2)
        async with session.begin():
            a.key_nonce, b.key_nonce = b.key_nonce, a.key_nonce
            a.key_ciphertext, b.key_ciphertext = b.key_ciphertext, a.key_ciphertext
        for row in (a, b):
            wrapped = WrappedKey(row.key_nonce, row.key_ciphertext, row.master_key_id)
            with pytest.raises(KeyUnwrapError, match="does not belong to this row"):
                store.unwrap(wrapped, service.binding_of(row))


async def test_import_validates_length_and_duplicates(settings: Settings) -> None:
    store = keystore(settings)
    async with db_session(settings) as session:
        with pytest.raises(InvalidInput, match="DKGA04 vending key has 20 bytes"):
            await import_key(session, store, sgc=1, krn=1, dkga="04", material=random_material("02"))
        with pytest.raises(InvalidInput, match="placeholder"):
            await import_key(session, store, sgc=1, krn=1, material=b"\xab" * 8)
        await import_key(session, store, sgc=1, krn=1)
        with pytest.raises(Conflict, match="already loaded"):
            await import_key(session, store, sgc=1, krn=1)


async def test_rewrap_moves_every_key_to_the_new_master_key(settings: Settings, tmp_path: Path) -> None:
    old = keystore(settings)
    new_path = tmp_path / "new.key"
    init_master_file(new_path)
    new = load_keystore(new_path)
    async with db_session(settings) as session:
        materials = {}
        for krn, dkga in ((1, "02"), (2, "04")):
            row, material = await import_key(session, old, sgc=600999, krn=krn, dkga=dkga)
            materials[row.id] = material
        assert await service.rewrap_all(session, SYSTEM, old, new) == 2
        rows = (await session.execute(select(VendingKey))).scalars().all()
        for row in rows:
            wrapped = WrappedKey(row.key_nonce, row.key_ciphertext, row.master_key_id)
            assert row.master_key_id == new.master_key_id
            assert new.unwrap(wrapped, service.binding_of(row)).reveal() == materials[row.id]
            with pytest.raises(KeyUnwrapError):
                old.unwrap(wrapped, service.binding_of(row))
        await session.rollback()
        with pytest.raises(InvalidInput, match="is the current one"):
            await service.rewrap_all(session, SYSTEM, new, new)
        # with the wrong "old" key nothing changes: the whole rewrap is one transaction
        third_path = tmp_path / "third.key"
        init_master_file(third_path)
        with pytest.raises(KeyUnwrapError):
            await service.rewrap_all(session, SYSTEM, old, load_keystore(third_path))
        after = (await session.execute(select(VendingKey.master_key_id))).scalars().all()
        assert set(after) == {new.master_key_id}
