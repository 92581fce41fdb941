"""The Polymarket CLOB V2 order hash: the EIP-712 digest of the signed 11-field order.

The venue identifies an order by this hash, so re-posting the same signed order is recognised
as the same order. Computed independently from the published typed-data definition (domain
"Polymarket CTF Exchange", version "2", chain 137; the neg-risk exchange for neg-risk markets).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from Crypto.Hash import keccak

CHAIN_ID = 137
EXCHANGE_V2 = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2 = "0xe2222d279d744050d28e00520010520000310F59"
_DOMAIN_NAME = "Polymarket CTF Exchange"
_DOMAIN_VERSION = "2"
_DOMAIN_TYPE = b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
_ORDER_TYPE = (
    b"Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    b"uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    b"bytes32 builder)"
)
SIDES = {"BUY": 0, "SELL": 1}


class OrderHashError(ValueError):
    """A field of the signed order cannot be encoded."""


def keccak256(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


def _uint(value: Any, bits: int = 256) -> bytes:
    if isinstance(value, bool):
        raise OrderHashError("booleans are not integers here")
    number = int(value, 0) if isinstance(value, str) and value.startswith("0x") else int(value)
    if not 0 <= number < 2**bits:
        raise OrderHashError(f"{value!r} does not fit uint{bits}")
    return number.to_bytes(32, "big")


def _address(value: Any) -> bytes:
    text = str(value)
    if not text.startswith("0x") or len(text) != 42:
        raise OrderHashError(f"not an address: {value!r}")
    return bytes(12) + bytes.fromhex(text[2:])


def _bytes32(value: Any) -> bytes:
    text = str(value)
    if not text.startswith("0x") or len(text) != 66:
        raise OrderHashError(f"not a bytes32: {value!r}")
    return bytes.fromhex(text[2:])


def domain_separator(neg_risk: bool) -> bytes:
    contract = NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2
    return keccak256(
        keccak256(_DOMAIN_TYPE)
        + keccak256(_DOMAIN_NAME.encode())
        + keccak256(_DOMAIN_VERSION.encode())
        + _uint(CHAIN_ID)
        + _address(contract)
    )


_SEPARATORS = {flag: domain_separator(flag) for flag in (False, True)}


def order_hash(order: Mapping[str, Any], *, neg_risk: bool) -> str:
    """``0x``-prefixed hex digest of the V2 order as sent by ``order_to_json_v2``."""
    try:
        side = order["side"]
        side_value = SIDES[side] if isinstance(side, str) else int(side)
        struct = keccak256(
            keccak256(_ORDER_TYPE)
            + _uint(order["salt"])
            + _address(order["maker"])
            + _address(order["signer"])
            + _uint(order["tokenId"])
            + _uint(order["makerAmount"])
            + _uint(order["takerAmount"])
            + _uint(side_value, 8)
            + _uint(order["signatureType"], 8)
            + _uint(order["timestamp"])
            + _bytes32(order.get("metadata", "0x" + "00" * 32))
            + _bytes32(order.get("builder", "0x" + "00" * 32))
        )
    except KeyError as e:
        raise OrderHashError(f"missing order field {e.args[0]}") from None
    except (TypeError, ValueError) as e:
        raise OrderHashError(str(e)) from None
    return "0x" + keccak256(b"\x19\x01" + _SEPARATORS[neg_risk] + struct).hex()
