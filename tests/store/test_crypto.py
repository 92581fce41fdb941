from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pmarb.store.crypto import CredentialCipher, SecretKeyError, generate_key
from pmarb.store.venues import load_credentials, save_credentials

CREDENTIALS = {"api_key_id": "key-123", "private_key_pem": "-----BEGIN PRIVATE KEY-----abc"}


async def test_credentials_are_encrypted_at_rest_and_round_trip(
    db: psycopg.AsyncConnection[dict[str, Any]],
) -> None:
    cipher = CredentialCipher(generate_key())
    await save_credentials(db, cipher, "kalshi", CREDENTIALS)
    cursor = await db.execute("select * from venues where id = 'kalshi'")
    row = await cursor.fetchone()
    assert row is not None
    stored = bytes(row["credentials_ciphertext"])
    assert b"key-123" not in stored and b"PRIVATE KEY" not in stored
    assert row["credentials_key_id"] == cipher.key_id
    assert await load_credentials(db, cipher, "kalshi") == CREDENTIALS


async def test_a_different_key_is_detected_not_misused(
    db: psycopg.AsyncConnection[dict[str, Any]],
) -> None:
    await save_credentials(db, CredentialCipher(generate_key()), "kalshi", CREDENTIALS)
    with pytest.raises(SecretKeyError, match="stored under key"):
        await load_credentials(db, CredentialCipher(generate_key()), "kalshi")


def test_a_ciphertext_is_bound_to_its_venue() -> None:
    cipher = CredentialCipher(generate_key())
    blob = cipher.encrypt("kalshi", CREDENTIALS)
    with pytest.raises(SecretKeyError):
        cipher.decrypt("polymarket", blob)


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ="])
def test_malformed_keys_are_explained(bad: str) -> None:
    with pytest.raises(SecretKeyError, match="PMARB_SECRET_KEY"):
        CredentialCipher(bad)


def test_the_key_never_appears_in_repr() -> None:
    key = generate_key()
    assert key not in repr(CredentialCipher(key))
