"""Polymarket CLOB V2 orders, signed offline with the official ``py-clob-client-v2``.

Idempotency. Polymarket has no client order id, so pmarb makes the order itself the key: the
salt is derived from the client order id and the millisecond timestamp from the request's
``created_at`` (set once by the caller, e.g. the workflow, and reused on every retry). Every
other signed field follows from the request, so a retry signs the IDENTICAL order and gets the
IDENTICAL order hash, which is the venue's order id. The exchange refuses a second order with a
known hash, and on that refusal the adapter looks the hash up (``GET /data/order/{hash}``) and
reports the existing order: a retried placement after a lost response never creates a second
order, and the first attempt pays no lookup round trip. Without
``created_at`` the first timestamp used for a client order id is remembered in-process only.

Amounts are computed in Decimal (6-decimal base units, size rounded down to 0.01 as the SDK
does); the EIP-712 struct, domain and signature come from the SDK's V2 exchange builder.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from py_clob_client_v2.config import get_contract_config  # type: ignore[import-untyped]
from py_clob_client_v2.constants import BYTES32_ZERO  # type: ignore[import-untyped]
from py_clob_client_v2.order_utils.exchange_order_builder_v2 import (  # type: ignore[import-untyped]
    ExchangeOrderBuilderV2,
)
from py_clob_client_v2.order_utils.model.order_data_v2 import (  # type: ignore[import-untyped]
    OrderDataV2,
    SignedOrderV2,
    order_to_json_v2,
)
from py_clob_client_v2.order_utils.model.side import Side as SdkSide  # type: ignore[import-untyped]
from py_clob_client_v2.order_utils.model.signature_type_v2 import (  # type: ignore[import-untyped]
    SignatureTypeV2,
)
from py_clob_client_v2.signer import Signer  # type: ignore[import-untyped]

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderRequest, TimeInForce
from pmarb.domain.parity import Side
from pmarb.domain.timing import gtd_expiration
from pmarb.venues.base import OrderRejectedError

BASE_UNITS = Decimal(1_000_000)
SIZE_STEP = Decimal("0.01")
_ORDER_TYPES = {
    TimeInForce.FOK: "FOK",
    TimeInForce.FAK: "FAK",
    TimeInForce.GTC: "GTC",
    TimeInForce.GTD: "GTD",
}


def deterministic_salt(client_order_id: str) -> int:
    """A salt that is the same on every retry; below 2^53 so JSON numbers carry it exactly."""
    digest = hashlib.sha256(b"pmarb-order-salt:" + client_order_id.encode()).digest()
    return int.from_bytes(digest[:6], "big")


def amounts(side: Side, price: Decimal, size: Decimal, tick: Decimal) -> tuple[int, int, Decimal]:
    """(maker amount, taker amount) in base units, and the size actually ordered."""
    if price % tick != 0:
        raise OrderRejectedError(
            "polymarket", "invalid_price", f"{price} is not on the {tick} grid"
        )
    shares = size.quantize(SIZE_STEP, rounding=ROUND_DOWN)
    if shares <= 0:
        raise OrderRejectedError("polymarket", "invalid_size", f"size {size} rounds to zero")
    shares_units = int(shares * BASE_UNITS)
    notional_units = int((shares * price * BASE_UNITS).to_integral_value(rounding=ROUND_DOWN))
    if side is Side.BUY:
        return notional_units, shares_units, shares
    return shares_units, notional_units, shares


@dataclass(frozen=True)
class BuiltOrder:
    signed: Any  # SignedOrderV2
    order_hash: str
    size: Decimal

    def body(self, owner: str, order_type: str, post_only: bool) -> dict[str, Any]:
        result: dict[str, Any] = order_to_json_v2(
            self.signed, owner=owner, order_type=order_type, post_only=post_only, defer_exec=False
        )
        return result


class OrderSigner:
    def __init__(
        self,
        private_key: str,
        *,
        chain_id: int = 137,
        signature_type: int = 0,
        funder: str | None = None,
    ) -> None:
        self._signer = Signer(private_key, chain_id)
        self.chain_id = chain_id
        self.signature_type = SignatureTypeV2(signature_type)
        self.address: str = self._signer.address()
        self.funder: str = funder or self.address
        self._contracts = get_contract_config(chain_id)

    def __repr__(self) -> str:
        return f"OrderSigner(address={self.address!r}, funder={self.funder!r})"

    def exchange(self, neg_risk: bool) -> str:
        address: str = (
            self._contracts.neg_risk_exchange_v2 if neg_risk else self._contracts.exchange_v2
        )
        return address

    def build(
        self, order: OrderRequest, *, tick: Decimal, neg_risk: bool, timestamp_ms: int
    ) -> BuiltOrder:
        maker_amount, taker_amount, shares = amounts(order.side, order.price, order.size, tick)
        expiration = "0"
        if order.time_in_force is TimeInForce.GTD and order.expires_at is not None:
            # Polymarket stops a GTD order a minute before its expiration field says.
            stops = gtd_expiration(VenueId.POLYMARKET, order.expires_at)
            expiration = str(math.ceil(stops.timestamp()))
        signer_address = (
            self.funder if self.signature_type == SignatureTypeV2.POLY_1271 else self.address
        )
        data = OrderDataV2(
            maker=self.funder,
            tokenId=order.instrument_id,
            makerAmount=str(maker_amount),
            takerAmount=str(taker_amount),
            side=SdkSide.BUY if order.side is Side.BUY else SdkSide.SELL,
            signer=signer_address,
            signatureType=self.signature_type,
            timestamp=str(timestamp_ms),
            metadata=BYTES32_ZERO,
            builder=BYTES32_ZERO,
            expiration=expiration,
        )
        salt = str(deterministic_salt(order.client_order_id))
        builder = ExchangeOrderBuilderV2(
            self.exchange(neg_risk),
            self.chain_id,
            self._signer,
            generate_salt=lambda: salt,
            domain_version="2",
        )
        unsigned = builder.build_order(data)
        typed = builder.build_order_typed_data(unsigned)
        signature = builder.build_order_signature(typed)
        signed = SignedOrderV2(**{**unsigned.__dict__, "signature": signature})
        return BuiltOrder(signed, builder.build_order_hash(typed), shares)


def order_type(order: OrderRequest) -> str:
    return _ORDER_TYPES[order.time_in_force]
