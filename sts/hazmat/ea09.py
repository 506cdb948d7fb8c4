"""EA09: DEA (single DES) - **UNVERIFIED**.

No public STS vectors exist for EA09. This implements the natural reading: DES-ECB of the
8-byte big-endian block under the 8-byte decoder key (parity bits ignored). Single DES is
obtained from ``cryptography``'s TripleDES with the key repeated three times (K1=K2=K3).
DES itself *is* verified here as the primitive inside DKGA02.
"""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

__all__ = ["decrypt_block", "des_decrypt", "des_encrypt", "encrypt_block"]


def _cipher(key: bytes) -> Cipher[modes.ECB]:
    if len(key) != 8:
        raise ValueError("DES key must be 8 bytes")
    return Cipher(TripleDES(key * 3), modes.ECB())  # noqa: S305 - one raw block: the primitive itself


def des_encrypt(key: bytes, data: bytes) -> bytes:
    """Single-DES ECB encryption of one 8-byte block."""
    enc = _cipher(key).encryptor()
    return enc.update(data) + enc.finalize()


def des_decrypt(key: bytes, data: bytes) -> bytes:
    """Single-DES ECB decryption of one 8-byte block."""
    dec = _cipher(key).decryptor()
    return dec.update(data) + dec.finalize()


def encrypt_block(key: bytes, block: int) -> int:
    """EA09 (UNVERIFIED): DES-encrypt a 64-bit block."""
    return int.from_bytes(des_encrypt(key, block.to_bytes(8, "big")), "big")


def decrypt_block(key: bytes, block: int) -> int:
    """EA09 (UNVERIFIED): DES-decrypt a 64-bit block."""
    return int.from_bytes(des_decrypt(key, block.to_bytes(8, "big")), "big")
