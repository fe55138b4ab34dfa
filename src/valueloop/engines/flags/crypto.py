"""Encryption of SDK payloads: AES-128/192/256-CBC with PKCS#7 padding, as ``"base64(iv).base64(ciphertext)"``
with a base64 key, interoperable with every GrowthBook SDK.

Invariants:

* :func:`decrypt` never raises: a wrong key, a corrupt payload or bad base64 gives None (the spec's contract);
  the evaluator turns that into :class:`DecryptionError` when it needs the plaintext.
* ``cryptography`` is imported lazily, so everything but payload encryption works without it.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any


class DecryptionError(ValueError):
    """An encrypted payload could not be decrypted (wrong key, corrupt data)."""


def _b64(s: str) -> bytes:
    return base64.b64decode(s.encode("ascii"), validate=True)


def decrypt(encrypted: str, key: str) -> str | None:
    """Spec ``decrypt``: the plaintext, or None if the key or the payload is invalid."""
    try:
        iv_b64, sep, body_b64 = encrypted.partition(".")
        if not sep:
            return None
        iv, body, raw_key = _b64(iv_b64), _b64(body_b64), _b64(key)
        if len(iv) != 16 or len(raw_key) not in (16, 24, 32) or not body or len(body) % 16:
            return None
        # Imported lazily: everything but SDK payload encryption works without the cryptography package.
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        decryptor = Cipher(algorithms.AES(raw_key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(body) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")
    except (ValueError, TypeError, AttributeError, UnicodeError, binascii.Error):
        return None


def encrypt(plaintext: str, key: str, iv: bytes | None = None) -> str:
    """Encrypt an SDK payload the way :func:`decrypt` (and every GrowthBook SDK) expects. Random IV by default."""
    from cryptography.hazmat.primitives import padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_b64(key)), modes.CBC(iv)).encryptor()
    body = encryptor.update(data) + encryptor.finalize()
    return f"{base64.b64encode(iv).decode()}.{base64.b64encode(body).decode()}"


def _decrypt_json(encrypted: str, key: str) -> Any:
    import json

    plain = decrypt(encrypted, key)
    if plain is None:
        raise DecryptionError("could not decrypt the SDK payload (wrong key or corrupt data)")
    try:
        return json.loads(plain)
    except ValueError as exc:
        raise DecryptionError("decrypted SDK payload is not JSON") from exc
