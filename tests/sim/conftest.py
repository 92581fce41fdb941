"""A running simulator for each test, with real credentials and plain clients (no pmarb.venues)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from eth_account import Account
from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgsV2  # type: ignore[import-untyped]
from py_clob_client_v2.order_builder.builder import OrderBuilder  # type: ignore[import-untyped]
from py_clob_client_v2.order_utils import SignatureTypeV2  # type: ignore[import-untyped]
from py_clob_client_v2.order_utils.model.order_data_v2 import order_to_json_v2  # type: ignore[import-untyped]
from py_clob_client_v2.signer import Signer  # type: ignore[import-untyped]

from pmarb.sim import SimConfig, Simulator

START_MS = 1_790_000_000_000
KALSHI_KEY_ID = "3f1e2d4c-0000-4000-8000-000000000001"
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


@dataclass
class KalshiSigner:
    key: rsa.RSAPrivateKey
    key_id: str = KALSHI_KEY_ID

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def headers(self, method: str, path: str) -> dict[str, str]:
        ts = str(int(time.time() * 1000))
        signature = self.key.sign(f"{ts}{method}{path}".encode(), _PSS, hashes.SHA256())
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(signature).decode(),
        }


@dataclass
class PolyCreds:
    api_key: str
    secret: str
    passphrase: str
    private_key: str

    @property
    def address(self) -> str:
        return str(Account.from_key(self.private_key).address)

    def headers(self, method: str, path: str, body: str = "") -> dict[str, str]:
        ts = str(int(time.time()))
        digest = hmac.new(
            base64.urlsafe_b64decode(self.secret),
            f"{ts}{method}{path}{body}".encode(),
            hashlib.sha256,
        ).digest()
        return {
            "POLY_ADDRESS": self.address,
            "POLY_SIGNATURE": base64.urlsafe_b64encode(digest).decode(),
            "POLY_TIMESTAMP": ts,
            "POLY_API_KEY": self.api_key,
            "POLY_PASSPHRASE": self.passphrase,
        }

    def order(
        self,
        token_id: str,
        price: float,
        size: float,
        side: str,
        *,
        tick: str = "0.01",
        neg_risk: bool = False,
        order_type: str = "GTC",
    ) -> dict[str, Any]:
        """A V2 order envelope built and signed by the official client, offline."""
        builder = OrderBuilder(
            Signer(self.private_key, 137), signature_type=SignatureTypeV2.EOA, funder=None
        )
        signed = builder.build_order(
            OrderArgsV2(token_id=token_id, price=price, size=size, side=side),
            CreateOrderOptions(tick_size=tick, neg_risk=neg_risk),
            version=2,
        )
        body: dict[str, Any] = order_to_json_v2(
            signed, owner=self.api_key, order_type=order_type, post_only=False, defer_exec=False
        )
        return body


@pytest.fixture(scope="session")
def kalshi_signer() -> KalshiSigner:
    return KalshiSigner(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def poly_creds() -> PolyCreds:
    return PolyCreds(
        api_key="5d1e2f3a-0000-4000-8000-00000000a11c",
        secret=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        passphrase="sim-passphrase",
        private_key="0x" + secrets.token_hex(32),
    )


def make_config(kalshi_signer: KalshiSigner, poly_creds: PolyCreds, **overrides: Any) -> SimConfig:
    values: dict[str, Any] = {
        "seed": 11,
        "start_time_ms": START_MS,
        "kalshi_public_key_pem": kalshi_signer.public_pem,
        "kalshi_key_id": kalshi_signer.key_id,
        "polymarket_api_key": poly_creds.api_key,
        "polymarket_api_secret": poly_creds.secret,
        "polymarket_passphrase": poly_creds.passphrase,
    }
    values.update(overrides)
    return SimConfig(**values)


@pytest.fixture
async def sim(kalshi_signer: KalshiSigner, poly_creds: PolyCreds) -> AsyncIterator[Simulator]:
    async with Simulator(make_config(kalshi_signer, poly_creds)) as simulator:
        yield simulator


def compact(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))
