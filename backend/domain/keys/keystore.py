"""Key store: vending keys encrypted at rest.

The :class:`KeyStore` protocol is the seam between the product and wherever the key-encryption key
lives. :class:`SoftwareKeyStore` keeps it in a master key file (64 hex digits and a newline, mode
0600) and wraps every vending key with AES-256-GCM: a fresh 12-byte random nonce per key, and
associated data that binds the ciphertext to its row's identity (SGC, KRN, KT, DKGA, base date), so
a ciphertext copied onto another row does not decrypt.

An HSM adapter implements the same protocol: ``master_key_id`` names the HSM's wrapping key (its
label or fingerprint); ``wrap`` asks the HSM to encrypt (e.g. PKCS#11 ``C_WrapKey``/``C_Encrypt``
with CKM_AES_GCM and the binding's ``aad()``), ``unwrap`` to decrypt. A stronger adapter keeps the
vending keys inside the HSM altogether and implements :class:`backend.domain.keys.engine.TokenEngine`
instead, so no vending key is ever in process memory.

Key material never appears in logs, responses, exceptions or ``repr``: it travels as
:class:`~backend.domain.keys.rules.SecretBytes`.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from backend.domain.errors import DomainError
from backend.domain.keys.rules import MASTER_KEY_BYTES, KeyBinding, SecretBytes

log = structlog.get_logger("gridvend.keys")

NONCE_BYTES = 12


class KeyStoreUnavailable(DomainError):
    """The master key cannot be used (missing, unreadable, malformed, too widely readable)."""

    status = 503
    title = "Key store unavailable"


class KeyUnwrapError(DomainError):
    """A wrapped vending key does not decrypt: another master key, or the row was tampered with."""

    status = 500
    title = "Vending key cannot be decrypted"


@dataclass(frozen=True, slots=True)
class WrappedKey:
    nonce: bytes
    ciphertext: bytes
    master_key_id: str


@runtime_checkable
class KeyStore(Protocol):
    """Wraps and unwraps vending keys. Implementations: :class:`SoftwareKeyStore`, an HSM adapter."""

    @property
    def master_key_id(self) -> str: ...

    def wrap(self, material: SecretBytes, binding: KeyBinding) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, binding: KeyBinding) -> SecretBytes: ...


def fingerprint(master_key: bytes) -> str:
    """The master key's id: the first 16 hex digits of its SHA-256 (names it, reveals nothing)."""
    return hashlib.sha256(master_key).hexdigest()[:16]


class SoftwareKeyStore:
    """AES-256-GCM under a 32-byte master key held in memory (read from the master key file)."""

    __slots__ = ("_aead", "_id")

    def __init__(self, master_key: SecretBytes) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise KeyStoreUnavailable(f"The master key must be {MASTER_KEY_BYTES} bytes.")
        self._aead = AESGCM(master_key.reveal())
        self._id = fingerprint(master_key.reveal())

    def __repr__(self) -> str:
        return f"SoftwareKeyStore(master_key_id={self._id!r})"

    @property
    def master_key_id(self) -> str:
        return self._id

    def wrap(self, material: SecretBytes, binding: KeyBinding) -> WrappedKey:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._aead.encrypt(nonce, material.reveal(), binding.aad())
        return WrappedKey(nonce=nonce, ciphertext=ciphertext, master_key_id=self._id)

    def unwrap(self, wrapped: WrappedKey, binding: KeyBinding) -> SecretBytes:
        where = f"SGC {binding.sgc:06d} KRN {binding.krn} KT {binding.kt}"
        if wrapped.master_key_id != self._id:
            raise KeyUnwrapError(
                f"The vending key for {where} is wrapped with master key {wrapped.master_key_id}, "
                f"but the configured master key is {self._id}. Point GRIDVEND_MASTER_KEY_FILE at the "
                "right master key file."
            )
        try:
            return SecretBytes(self._aead.decrypt(wrapped.nonce, wrapped.ciphertext, binding.aad()))
        except InvalidTag:
            raise KeyUnwrapError(
                f"The vending key for {where} does not decrypt under master key {self._id}: the stored "
                "ciphertext does not belong to this row or was altered. Re-import the key."
            ) from None


# -- the master key file ---------------------------------------------------------------------------


def new_master_key() -> SecretBytes:
    return SecretBytes(secrets.token_bytes(MASTER_KEY_BYTES))


def init_master_file(path: str | Path) -> str:
    """Create a new random master key file (mode 0600); refuse to overwrite. Returns its fingerprint."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    key = new_master_key()
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyStoreUnavailable(
            f"The master key file {target} already exists; it is never overwritten (the vending keys "
            "depend on it). To move to a new master key, create a new file and run `gridvend keys rewrap`."
        ) from None
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(key.reveal().hex() + "\n")
    return fingerprint(key.reveal())


def ensure_master_file(path: str | Path) -> bool:
    """Create the master key file when it is missing (demo seeding only); True when created."""
    try:
        init_master_file(path)
    except KeyStoreUnavailable:
        return False
    return True


def read_master_file(path: str | Path) -> SecretBytes:
    """Read and check a master key file: 64 hex digits (+ newline), not readable by others."""
    target = Path(path)
    hint = f"Create one with `gridvend keys init-master --file {target}` or set GRIDVEND_MASTER_KEY_FILE."
    try:
        info = target.stat()
    except FileNotFoundError:
        raise KeyStoreUnavailable(f"The master key file {target} does not exist. {hint}") from None
    except OSError as exc:
        raise KeyStoreUnavailable(f"The master key file {target} cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(info.st_mode):
        raise KeyStoreUnavailable(f"The master key file {target} is not a regular file.")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o007:
        raise KeyStoreUnavailable(
            f"The master key file {target} is accessible to every user (mode {mode:04o}); "
            f"run `chmod 600 {target}` and keep it readable by the service user only."
        )
    if mode & 0o070:
        log.warning("master_key_file_permissions", path=str(target), mode=f"{mode:04o}", wanted="0600")
    try:
        text = target.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise KeyStoreUnavailable(f"The master key file {target} cannot be read as text.") from None
    body = text.removesuffix("\n")
    if len(body) != MASTER_KEY_BYTES * 2 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise KeyStoreUnavailable(
            f"The master key file {target} must hold exactly {MASTER_KEY_BYTES * 2} hex digits and a "
            f"newline (it holds {len(body)} characters). {hint}"
        )
    return SecretBytes(bytes.fromhex(body))


_STORES: dict[tuple[str, int, int, int], SoftwareKeyStore] = {}


def load_keystore(path: str | Path) -> SoftwareKeyStore:
    """The software key store for the master key file at ``path`` (re-read when the file changes)."""
    target = Path(path)
    try:
        info = target.stat()
        cache_key = (str(target.resolve()), info.st_ino, info.st_mtime_ns, info.st_mode)
    except OSError:
        cache_key = None
    if cache_key is not None and cache_key in _STORES:
        return _STORES[cache_key]
    store = SoftwareKeyStore(read_master_file(target))
    if cache_key is not None:
        _STORES.clear()
        _STORES[cache_key] = store
    return store
