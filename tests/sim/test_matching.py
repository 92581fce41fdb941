"""The matching engine, fees and order endpoints, in the engine and over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import httpx
from eth_account import Account
from eth_account.messages import encode_typed_data

from pmarb.domain.market import VenueId
from pmarb.domain.orders import OrderStatus, TimeInForce
from pmarb.domain.parity import Outcome, Side
from pmarb.sim import Simulator
from pmarb.sim.eip712 import EXCHANGE_V2, order_hash
from pmarb.sim.exchange import Exchange, SimMarket, Ticket
from pmarb.sim.scenario import kalshi_fees, polymarket_fees
from tests.sim.conftest import KalshiSigner, PolyCreds, compact

D = Decimal


def _exchange(fee_type: str = "quadratic") -> tuple[Exchange, SimMarket]:
    exchange = Exchange(lambda: 1_000, starting_cash=D(100_000))
    market = SimMarket(
        key="kalshi:T",
        venue=VenueId.KALSHI,
        market_id="T",
        yes_id="T",
        no_id="T:no",
        title="t",
        rules="",
        tick=D("0.01"),
        min_size=D("0.01"),
        fees=kalshi_fees(fee_type),
    )
    exchange.add_market(market)
    return exchange, market


def _order(
    account: str,
    side: Side,
    price: str,
    size: str,
    tif: TimeInForce,
    outcome: Outcome = Outcome.YES,
) -> Ticket:
    return Ticket(VenueId.KALSHI, account, "kalshi:T", outcome, side, D(price), D(size), tif)


def test_fok_larger_than_depth_does_not_fill() -> None:
    exchange, _ = _exchange()
    exchange.submit(_order("maker", Side.SELL, "0.50", "10", TimeInForce.GTC))
    exchange.submit(_order("maker", Side.SELL, "0.51", "5", TimeInForce.GTC))
    order = exchange.submit(_order("taker", Side.BUY, "0.51", "16", TimeInForce.FOK))
    assert order.status is OrderStatus.CANCELLED and order.filled == 0
    assert exchange.books["kalshi:T"].ask_sizes == {5000: 10_000_000, 5100: 5_000_000}
    filled = exchange.submit(_order("taker", Side.BUY, "0.51", "15", TimeInForce.FOK))
    assert filled.status is OrderStatus.FILLED and filled.average_price == D("7.55") / 15


def test_ioc_fills_partially_and_cancels_the_rest() -> None:
    exchange, _ = _exchange()
    exchange.submit(_order("maker", Side.BUY, "0.40", "7", TimeInForce.GTC))
    order = exchange.submit(_order("taker", Side.SELL, "0.39", "10", TimeInForce.FAK))
    assert order.status is OrderStatus.CANCELLED
    assert order.filled == 7_000_000 and order.resting is None
    assert exchange.books["kalshi:T"].bid_sizes == {}


def test_gtc_rests_then_fills_with_price_time_priority() -> None:
    exchange, _ = _exchange()
    first = exchange.submit(_order("a", Side.BUY, "0.45", "5", TimeInForce.GTC))
    second = exchange.submit(_order("b", Side.BUY, "0.45", "5", TimeInForce.GTC))
    statuses = [first.status, second.status]
    assert statuses == [OrderStatus.OPEN] * 2
    assert exchange.books["kalshi:T"].bid_sizes == {4500: 10_000_000}
    # Buying NO at 0.55 is selling YES at 0.45: it meets the resting YES bids.
    taker = exchange.submit(_order("c", Side.BUY, "0.55", "7", TimeInForce.FAK, Outcome.NO))
    assert taker.filled == 7_000_000 and taker.average_price == D("0.55")
    assert [first.status, second.status] == [OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED]
    assert second.resting_size == 3_000_000


def test_post_only_refuses_to_cross() -> None:
    exchange, _ = _exchange()
    exchange.submit(_order("m", Side.SELL, "0.50", "1", TimeInForce.GTC))
    ticket = Ticket(
        VenueId.KALSHI,
        "t",
        "kalshi:T",
        Outcome.YES,
        Side.BUY,
        D("0.50"),
        D(1),
        TimeInForce.GTC,
        post_only=True,
    )
    try:
        exchange.submit(ticket)
    except Exception as e:
        assert "post" in str(e)
    else:
        raise AssertionError("post-only order crossed")


def test_kalshi_fees_worked_examples() -> None:
    exchange, _ = _exchange("quadratic_with_maker_fees")
    exchange.submit(_order("maker", Side.SELL, "0.50", "100", TimeInForce.GTC))
    taker = exchange.submit(_order("taker", Side.BUY, "0.50", "100", TimeInForce.FOK))
    assert taker.fees == D("1.75")  # ceil_to_cent(0.07 × 100 × 0.5 × 0.5)
    maker = exchange.orders[taker.fills[0].counterparty_order_id]
    assert maker.fees == D("0.44")  # ceil_to_cent(0.0175 × 100 × 0.25) = ceil(0.4375)
    exchange.submit(_order("maker", Side.SELL, "0.50", "1", TimeInForce.GTC))
    one = exchange.submit(_order("taker", Side.BUY, "0.50", "1", TimeInForce.FOK))
    assert one.fees == D("0.02")
    # Ten one-contract fills in one order pay the single-fill fee, not ten rounded-up cents.
    for _ in range(10):
        exchange.submit(_order("maker", Side.SELL, "0.50", "1", TimeInForce.GTC))
    ten = exchange.submit(_order("taker", Side.BUY, "0.50", "10", TimeInForce.FOK))
    assert len(ten.fills) == 10 and ten.fees == D("0.18")  # ceil(0.175)


def test_polymarket_fee_from_fee_schedule() -> None:
    schedule = polymarket_fees("0.07")
    assert schedule.fee(D("0.5"), D(100)) == D("1.75")
    assert polymarket_fees("0.04").fee(D("0.2"), D(10)) == D("0.064")


async def test_kalshi_orders_over_http(sim: Simulator, kalshi_signer: KalshiSigner) -> None:
    ticker = sim.pair("fed-dec-cut")[VenueId.KALSHI].market_id
    path = "/trade-api/v2/portfolio/events/orders"
    book = sim.book(VenueId.KALSHI, ticker)
    assert book.best_bid is not None
    bid = {
        "ticker": ticker,
        "client_order_id": "leg-1",
        "side": "bid",
        "count": "100.00",
        "price": f"{book.best_bid - D('0.05'):.4f}",
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "taker_at_cross",
    }
    async with httpx.AsyncClient(base_url=sim.urls.kalshi_rest) as client:
        created = await client.post(
            path.removeprefix("/trade-api/v2"),
            content=compact(bid),
            headers=kalshi_signer.headers("POST", path),
        )
        assert created.status_code == 201
        assert created.json()["remaining_count"] == "100.00"
        again = await client.post(
            path.removeprefix("/trade-api/v2"),
            content=compact(bid),
            headers=kalshi_signer.headers("POST", path),
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "order_already_exists"
        assert sim.order_counts(VenueId.KALSHI)["leg-1"] == 2
        resting = sim.book(VenueId.KALSHI, ticker).bids[D(bid["price"])]
        assert resting >= D(100)
        order_id = created.json()["order_id"]
        listed = (
            await client.get(
                "/portfolio/orders",
                params={"status": "resting"},
                headers=kalshi_signer.headers("GET", "/trade-api/v2/portfolio/orders"),
            )
        ).json()
        assert [o["order_id"] for o in listed["orders"]] == [order_id]
        cancel_path = f"{path}/{order_id}"
        cancelled = await client.delete(
            cancel_path.removeprefix("/trade-api/v2"),
            headers=kalshi_signer.headers("DELETE", cancel_path),
        )
        assert cancelled.json() == {
            "order_id": order_id,
            "client_order_id": "leg-1",
            "reduced_by": "100.00",
        }
        # A lost response: the order is placed, the client sees a 502 and retries → 409.
        sim.faults.http_error(502, target="kalshi", path_prefix=path, after_processing=True)
        lost = bid | {"client_order_id": "leg-2"}
        first = await client.post(
            path.removeprefix("/trade-api/v2"),
            content=compact(lost),
            headers=kalshi_signer.headers("POST", path),
        )
        assert first.status_code == 502
        lost_at = sim.orders_received(VenueId.KALSHI)[-1].received_at
        retry = await client.post(
            path.removeprefix("/trade-api/v2"),
            content=compact(lost),
            headers=kalshi_signer.headers("POST", path),
        )
        assert retry.status_code == 409
        accepted = [
            e
            for e in sim.orders_received(VenueId.KALSHI)
            if e.client_order_id == "leg-2" and e.result == "accepted"
        ]
        assert len(accepted) == 1
    # Another process (a benchmark, a test) reads the log through the admin API, from a time on.
    async with httpx.AsyncClient(base_url=sim.urls.admin) as admin:
        recent = (await admin.get("/orders", params={"since": lost_at})).json()["received"]
        assert [(o["client_order_id"], o["result"]) for o in recent] == [
            ("leg-2", "accepted"),
            ("leg-2", "duplicate"),
        ]
        assert (await admin.get("/orders", params={"since": "yesterday"})).status_code == 400


async def test_polymarket_order_from_official_client(sim: Simulator, poly_creds: PolyCreds) -> None:
    market = sim.market("polymarket:fed-dec-cut")
    ask = sim.book(VenueId.POLYMARKET, market.yes_instrument_id).best_ask
    assert ask is not None
    body = poly_creds.order(market.yes_instrument_id, float(ask), 10.0, "BUY")
    text = compact(body)
    async with httpx.AsyncClient(base_url=sim.urls.polymarket_clob) as client:
        reply = await client.post(
            "/order", content=text, headers=poly_creds.headers("POST", "/order", text)
        )
        assert reply.status_code == 200, reply.text
        result = reply.json()
        assert result["success"] and result["status"] == "matched"
        assert result["orderID"] == order_hash(body["order"], neg_risk=False)
        duplicate = await client.post(
            "/order", content=text, headers=poly_creds.headers("POST", "/order", text)
        )
        assert duplicate.status_code == 400 and "Duplicated" in duplicate.json()["error"]
        assert sim.order_counts(VenueId.POLYMARKET)[result["orderID"]] == 2
        path = f"/data/order/{result['orderID']}"
        order = (await client.get(path, headers=poly_creds.headers("GET", path))).json()
        assert order["status"] == "MATCHED" and order["size_matched"] == "10"
        trades = (
            await client.get("/data/trades", headers=poly_creds.headers("GET", "/data/trades"))
        ).json()
        assert (
            trades["data"][0]["status"] == "CONFIRMED"
            and trades["data"][0]["trader_side"] == "TAKER"
        )
        balance = (
            await client.get(
                "/balance-allowance",
                params={"asset_type": "CONDITIONAL", "token_id": market.yes_instrument_id},
                headers=poly_creds.headers("GET", "/balance-allowance"),
            )
        ).json()
        assert balance["balance"] == "10000000"
        wrong = poly_creds.headers("POST", "/order", text) | {"POLY_SIGNATURE": "AAAA"}
        assert (await client.post("/order", content=text, headers=wrong)).status_code == 401
        # A FOK bigger than the book is killed; nothing rests.
        fok = poly_creds.order(
            market.yes_instrument_id, float(ask), 5_000.0, "BUY", order_type="FOK"
        )
        fok_text = compact(fok)
        killed = await client.post(
            "/order", content=fok_text, headers=poly_creds.headers("POST", "/order", fok_text)
        )
        assert killed.status_code == 400 and "FOK" in killed.json()["error"]


def test_order_hash_is_the_signed_eip712_digest(poly_creds: PolyCreds) -> None:
    body = poly_creds.order("1234567890", 0.42, 10.0, "BUY")
    order = body["order"]
    typed = {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": [
                {"name": n, "type": t}
                for n, t in [
                    ("salt", "uint256"),
                    ("maker", "address"),
                    ("signer", "address"),
                    ("tokenId", "uint256"),
                    ("makerAmount", "uint256"),
                    ("takerAmount", "uint256"),
                    ("side", "uint8"),
                    ("signatureType", "uint8"),
                    ("timestamp", "uint256"),
                    ("metadata", "bytes32"),
                    ("builder", "bytes32"),
                ]
            ],
        },
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": 137,
            "verifyingContract": EXCHANGE_V2,
        },
        "message": {
            "salt": int(order["salt"]),
            "maker": order["maker"],
            "signer": order["signer"],
            "tokenId": int(order["tokenId"]),
            "makerAmount": int(order["makerAmount"]),
            "takerAmount": int(order["takerAmount"]),
            "side": 0,
            "signatureType": int(order["signatureType"]),
            "timestamp": int(order["timestamp"]),
            "metadata": bytes(32),
            "builder": bytes(32),
        },
    }
    signable = encode_typed_data(full_message=typed)
    # The client's signature recovers to the signer over exactly this digest.
    assert Account.recover_message(signable, signature=order["signature"]) == poly_creds.address
    from eth_account.messages import _hash_eip191_message

    assert "0x" + _hash_eip191_message(signable).hex() == order_hash(order, neg_risk=False)
    assert order_hash(order, neg_risk=True) != order_hash(order, neg_risk=False)
