"""The exchange simulator for tests: throwaway credentials and a configured instance."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account

from pmarb.sim import SimConfig, Simulator
from pmarb.venues.polymarket.auth import ApiCredentials


@dataclass(frozen=True)
class Keys:
    kalshi_private: bytes
    kalshi_public: bytes
    poly_private: str
    poly_credentials: ApiCredentials


def make_keys() -> Keys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Keys(
        kalshi_private=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        kalshi_public=key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        poly_private=Account.create().key.hex(),
        poly_credentials=ApiCredentials(
            api_key="6d3f5c1e-0000-4000-8000-000000000001",
            secret=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            passphrase="pass-" + os.urandom(4).hex(),
        ),
    )


@asynccontextmanager
async def simulator(keys: Keys, **overrides: object) -> AsyncIterator[Simulator]:
    overrides.setdefault("seed", 11)
    config = SimConfig(
        kalshi_public_key_pem=keys.kalshi_public,
        kalshi_key_id="kalshi-key-1",
        polymarket_api_key=keys.poly_credentials.api_key,
        polymarket_api_secret=keys.poly_credentials.secret,
        polymarket_passphrase=keys.poly_credentials.passphrase,
        **overrides,  # type: ignore[arg-type]
    )
    async with Simulator(config) as sim:
        yield sim
