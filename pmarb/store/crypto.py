"""AES-GCM encryption of venue credentials at rest.

The key comes from the environment (``PMARB_SECRET_KEY``, 32 bytes base64) and never touches
the database; the row keeps only a key id so a rotated key is detected rather than misused.
The venue id is bound in as associated data, so a ciphertext cannot be moved to another venue.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class SecretKeyError(Exception):
    pass


def generate_key() -> str:
    """A new base64 key suitable for ``PMARB_SECRET_KEY``."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


class CredentialCipher:
    def __init__(self, encoded_key: str) -> None:
        try:
            key = base64.b64decode(encoded_key, validate=True)
        except (binascii.Error, ValueError):
            raise SecretKeyError("PMARB_SECRET_KEY is not valid base64") from None
        if len(key) != 32:
            raise SecretKeyError(
                f"PMARB_SECRET_KEY must decode to 32 bytes, it decodes to {len(key)}"
            )
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"pmarb-key-id" + key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"CredentialCipher(key_id={self.key_id})"

    def encrypt(self, venue: str, credentials: dict[str, Any]) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        plaintext = json.dumps(credentials, sort_keys=True).encode()
        return nonce + self._aead.encrypt(nonce, plaintext, venue.encode())

    def decrypt(self, venue: str, blob: bytes) -> dict[str, Any]:
        nonce, ciphertext = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        try:
            plaintext = self._aead.decrypt(nonce, ciphertext, venue.encode())
        except InvalidTag:
            raise SecretKeyError(
                f"stored credentials for {venue} do not decrypt with this key"
            ) from None
        result: dict[str, Any] = json.loads(plaintext)
        return result
