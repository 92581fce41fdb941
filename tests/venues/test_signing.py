"""Request and order signing, checked independently of the code that signs."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak
from py_clob_client_v2.order_builder.builder import (  # type: ignore[import-untyped]
    ROUNDING_CONFIG,
    OrderBuilder,
)
from py_clob_client_v2.signer import Signer  # type: ignore[import-untyped]

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderRequest, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.venues.base import OrderRejectedError
from pmarb.venues.kalshi.auth import KalshiSigner
from pmarb.venues.polymarket.auth import ApiCredentials, L2Auth
from pmarb.venues.polymarket.orders import OrderSigner, amounts, deterministic_salt
from tests.venues.conftest import load_fixture

STANDARD_EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"


def test_kalshi_signature_verifies_with_the_public_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    signer = KalshiSigner("key-id", pem, clock_ms=lambda: 1703123456789)
    headers = signer.headers(
        "get",
        "https://external-api.kalshi.com/trade-api/v2/portfolio/orders?limit=5&status=resting",
    )
    assert headers["KALSHI-ACCESS-KEY"] == "key-id"
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1703123456789"  # milliseconds
    signature = base64.b64decode(headers["KALSHI-ACCESS-SIGNATURE"], validate=True)
    assert len(signature) == 256
    public = key.public_key()
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    public.verify(
        signature, b"1703123456789GET/trade-api/v2/portfolio/orders", pss, hashes.SHA256()
    )
    with pytest.raises(InvalidSignature):  # the query string is not part of the signed path
        public.verify(
            signature,
            b"1703123456789GET/trade-api/v2/portfolio/orders?limit=5&status=resting",
            pss,
            hashes.SHA256(),
        )
    ws = signer.headers("GET", "wss://external-api-ws.kalshi.com/trade-api/ws/v2")
    public.verify(
        base64.b64decode(ws["KALSHI-ACCESS-SIGNATURE"]),
        b"1703123456789GET/trade-api/ws/v2",
        pss,
        hashes.SHA256(),
    )
    assert "***" in repr(signer) and "BEGIN" not in repr(signer)


def test_polymarket_l2_headers_are_urlsafe_hmac_over_seconds() -> None:
    secret = base64.urlsafe_b64encode(b"\xfb" * 32).decode()
    auth = L2Auth("0xabc", ApiCredentials("api-key", secret, "phrase"), clock=lambda: 1700000000.9)
    body = '{"orderID":"0x1"}'
    headers = auth.headers("DELETE", "/order", body)
    expected = base64.urlsafe_b64encode(
        hmac.new(
            base64.urlsafe_b64decode(secret),
            b"1700000000DELETE/order" + body.encode(),
            hashlib.sha256,
        ).digest()
    ).decode()
    assert headers == {
        "POLY_ADDRESS": "0xabc",
        "POLY_SIGNATURE": expected,
        "POLY_TIMESTAMP": "1700000000",
        "POLY_API_KEY": "api-key",
        "POLY_PASSPHRASE": "phrase",
    }
    assert secret not in repr(auth) and "phrase" not in repr(auth.credentials)


def request(side: Side = Side.BUY, price: str = "0.52", size: str = "10") -> OrderRequest:
    return OrderRequest(
        client_order_id="opp-x:leg-1",
        venue=VenueId.POLYMARKET,
        market_id="0xcondition",
        instrument_id="113013382422133157315656090194075928009220145127085300671933810669470922115281",
        outcome=Outcome.YES,
        side=side,
        price=D(price),
        size=D(size),
        time_in_force=TimeInForce.GTC,
        created_at=datetime.fromtimestamp(1787414385.123, UTC),
    )


def typed_data(order: dict[str, object], exchange: str) -> dict[str, object]:
    """Rebuilt from research/venues.md A.4, not from the SDK."""
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": [
                {"name": "salt", "type": "uint256"},
                {"name": "maker", "type": "address"},
                {"name": "signer", "type": "address"},
                {"name": "tokenId", "type": "uint256"},
                {"name": "makerAmount", "type": "uint256"},
                {"name": "takerAmount", "type": "uint256"},
                {"name": "side", "type": "uint8"},
                {"name": "signatureType", "type": "uint8"},
                {"name": "timestamp", "type": "uint256"},
                {"name": "metadata", "type": "bytes32"},
                {"name": "builder", "type": "bytes32"},
            ],
        },
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": 137,
            "verifyingContract": exchange,
        },
        "message": {
            "salt": int(str(order["salt"])),
            "maker": order["maker"],
            "signer": order["signer"],
            "tokenId": int(str(order["tokenId"])),
            "makerAmount": int(str(order["makerAmount"])),
            "takerAmount": int(str(order["takerAmount"])),
            "side": 0 if order["side"] == "BUY" else 1,
            "signatureType": order["signatureType"],
            "timestamp": int(str(order["timestamp"])),
            "metadata": bytes.fromhex(str(order["metadata"])[2:]),
            "builder": bytes.fromhex(str(order["builder"])[2:]),
        },
    }


def test_polymarket_v2_order_is_structurally_right_and_signed_by_the_key() -> None:
    key = Account.create()
    signer = OrderSigner(key.key.hex())
    built = signer.build(request(), tick=D("0.01"), neg_risk=False, timestamp_ms=1787414385123)
    body = built.body("owner-key", "GTC", post_only=False)
    documented = load_fixture("polymarket", "order_post_request_v2-schema.json")
    assert body.keys() == documented.keys()
    assert body["order"].keys() == documented["order"].keys()
    for name, value in documented["order"].items():
        assert type(body["order"][name]) is type(value), name
    order = body["order"]
    assert (order["makerAmount"], order["takerAmount"], order["side"]) == (
        "5200000",
        "10000000",
        "BUY",
    )
    assert order["maker"] == order["signer"] == key.address
    assert order["salt"] == deterministic_salt("opp-x:leg-1") < 2**53
    assert order["timestamp"] == "1787414385123"
    message = encode_typed_data(full_message=typed_data(order, STANDARD_EXCHANGE))
    assert Account.recover_message(message, signature=order["signature"]) == key.address
    # The order hash is the EIP-712 digest: the venue's order id.
    digest = keccak(b"\x19" + message.version + message.header + message.body)
    assert built.order_hash == "0x" + digest.hex()


def test_the_same_request_signs_the_same_order_and_neg_risk_uses_its_exchange() -> None:
    signer = OrderSigner(Account.create().key.hex())
    first = signer.build(request(), tick=D("0.01"), neg_risk=True, timestamp_ms=1)
    again = signer.build(request(), tick=D("0.01"), neg_risk=True, timestamp_ms=1)
    assert first.order_hash == again.order_hash
    assert first.signed.signature == again.signed.signature
    order = first.body("k", "GTC", False)["order"]
    message = encode_typed_data(full_message=typed_data(order, NEG_RISK_EXCHANGE))
    assert Account.recover_message(message, signature=order["signature"]) == signer.address
    other = signer.build(request(), tick=D("0.01"), neg_risk=False, timestamp_ms=1)
    assert other.order_hash != first.order_hash


@pytest.mark.parametrize(
    ("side", "price", "size", "tick"),
    [
        (Side.BUY, "0.52", "10", "0.01"),
        (Side.SELL, "0.421", "7.5", "0.001"),
        (Side.BUY, "0.0625", "33.337", "0.0001"),
        (Side.SELL, "0.9", "5", "0.1"),
    ],
)
def test_amounts_match_the_official_client(side: Side, price: str, size: str, tick: str) -> None:
    builder = OrderBuilder(Signer(Account.create().key.hex(), 137))
    _, maker, taker = builder.get_order_amounts(
        "BUY" if side is Side.BUY else "SELL", float(size), float(price), ROUNDING_CONFIG[tick]
    )
    ours_maker, ours_taker, _ = amounts(side, D(price), D(size), D(tick))
    assert (ours_maker, ours_taker) == (maker, taker)


def test_prices_off_the_tick_grid_are_refused() -> None:
    with pytest.raises(OrderRejectedError):
        amounts(Side.BUY, D("0.525"), D("10"), D("0.01"))
