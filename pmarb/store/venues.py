"""Venue rows, including their encrypted credentials."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

from pmarb.store.crypto import CredentialCipher, SecretKeyError


async def save_credentials(
    conn: psycopg.AsyncConnection[Any],
    cipher: CredentialCipher,
    venue: str,
    credentials: dict[str, Any],
) -> None:
    blob = cipher.encrypt(venue, credentials)
    cursor = await conn.execute(
        """
        update venues set credentials_ciphertext = %s, credentials_key_id = %s, updated_at = now()
        where id = %s
        """,
        (blob, cipher.key_id, venue),
    )
    if cursor.rowcount != 1:
        raise KeyError(f"unknown venue {venue!r}")


async def load_credentials(
    conn: psycopg.AsyncConnection[Any], cipher: CredentialCipher, venue: str
) -> dict[str, Any] | None:
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(
        "select credentials_ciphertext, credentials_key_id from venues where id = %s", (venue,)
    )
    row = await cursor.fetchone()
    if row is None:
        raise KeyError(f"unknown venue {venue!r}")
    blob, key_id = row
    if blob is None:
        return None
    if key_id != cipher.key_id:
        raise SecretKeyError(
            f"credentials for {venue} were stored under key {key_id}; "
            f"PMARB_SECRET_KEY is key {cipher.key_id}"
        )
    return cipher.decrypt(venue, bytes(blob))
