"""A small, realistic operator picture written through plain SQL: two strategies, trades,
positions with and without a mark, a rejection, feed health, a pending match and alerts.

The numbers are chosen so the expected figures can be worked out by hand in the tests.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

NOW = datetime.now(UTC).replace(microsecond=0)


def _legs(venue: str, market: str) -> Jsonb:
    return Jsonb(
        [
            {
                "name": "a",
                "venue": venue,
                "market_id": market,
                "instrument_id": f"{market}-yes",
                "outcome": "yes",
                "side": "buy",
                "limit_price": "0.40",
                "expected_price": "0.40",
                "size": "10",
            }
        ]
    )


async def seed(conn: psycopg.AsyncConnection[Any]) -> None:
    for venue, market, title in (
        ("polymarket", "pm-btc-100k", "Will BTC close above $100k on Dec 31?"),
        ("kalshi", "KXBTC-100K", "Bitcoin above 100,000 at year end"),
        ("kalshi", "KXRAIN-NYC", "Rain in NYC tomorrow?"),
    ):
        await conn.execute(
            "insert into markets (venue, market_id, title, rules_hash, outcomes, status) "
            "values (%s, %s, %s, 'h', '[\"yes\", \"no\"]', 'open')",
            (venue, market, title),
        )
    await conn.execute(
        """
        insert into market_matches (venue_a, market_a, venue_b, market_b, relation, confidence,
            evidence, rules_hash_a, rules_hash_b, decided_by, review_status)
        values ('kalshi', 'KXBTC-100K', 'polymarket', 'pm-btc-100k', 'equivalent', 0.72,
                '{"note": "same threshold, different settlement time?"}', 'h', 'h', 'model',
                'pending')
        """
    )
    # Opportunity 1: approved, traded by atomic-arb on polymarket; opportunity 2: rejected.
    for n, (kind, status, strategy, decision, reason, venue, market, latency) in enumerate(
        (
            (
                "cross_venue",
                "approved",
                "atomic-arb",
                "approved",
                "APPROVED",
                "polymarket",
                "pm-btc-100k",
                0.04,
            ),
            (
                "oracle_lag",
                "rejected",
                "oracle-sniper",
                "rejected",
                "STALE_QUOTE",
                "kalshi",
                "KXRAIN-NYC",
                0.2,
            ),
        ),
        start=1,
    ):
        detected = NOW - timedelta(minutes=10 * n)
        await conn.execute(
            """
            insert into opportunities (id, kind, detected_at, expires_at, edge, size, legs,
                                       quotes, status, workflow_id)
            values (%s, %s, %s, %s, %s, 10, %s, '[]', %s, %s)
            """,
            (
                f"opp-{n}",
                kind,
                detected,
                detected + timedelta(seconds=30),
                D("0.031"),
                _legs(venue, market),
                status,
                f"opp-{n}",
            ),
        )
        await conn.execute(
            """
            insert into trade_requests (opportunity_id, workflow_id, strategy, bid, risk_decision,
                risk_reason, status, requested_at, decided_at, opportunity_kind)
            values (%s, %s, %s, '{}', %s, %s, %s, %s, %s, %s)
            """,
            (
                f"opp-{n}",
                f"opp-{n}",
                strategy,
                decision,
                reason,
                status,
                detected,
                detected + timedelta(seconds=latency),
                kind,
            ),
        )
    await conn.execute(
        """
        insert into risk_events (kind, reason_code, workflow_id, strategy, venue, market_id,
                                 opportunity_id, details)
        values ('rejection', 'STALE_QUOTE', 'opp-2', 'oracle-sniper', 'kalshi', 'KXRAIN-NYC',
                'opp-2', '{"detail": "quote is 7.2s old (limit 5s)"}')
        """
    )
    await conn.execute(
        """
        insert into orders (client_order_id, workflow_id, leg, venue, market_id, instrument_id,
            outcome, side, time_in_force, price, size, filled_size, average_price, fees, status,
            paper, purpose, strategy, trade_request_id)
        values ('opp-1:a', 'opp-1', 'a', 'polymarket', 'pm-btc-100k', 'pm-btc-100k-yes', 'yes',
                'buy', 'fok', 0.40, 10, 10, 0.40, 0.05, 'filled', true, 'open', 'atomic-arb',
                (select id from trade_requests where workflow_id = 'opp-1'))
        """
    )
    await conn.execute(
        """
        insert into fills (venue, venue_fill_id, client_order_id, venue_order_id, market_id,
            instrument_id, outcome, side, price, size, fee, is_taker, filled_at)
        values ('polymarket', 'f-1', 'opp-1:a', 'v-1', 'pm-btc-100k', 'pm-btc-100k-yes', 'yes',
                'buy', 0.45, 1, 0, true, %s)
        """,
        (NOW - timedelta(minutes=1),),
    )
    # Held 10 @ 0.40, marked at the mid 0.45 → worth 4.50, unrealised +0.50. The kalshi
    # position (4 @ 0.70, repaired from the venue) has no book: at cost, worth 2.80.
    await conn.execute(
        """
        insert into positions (venue, market_id, outcome, instrument_id, size, average_price,
                               realized_pnl, fees)
        values ('polymarket', 'pm-btc-100k', 'yes', 'pm-btc-100k-yes', 10, 0.40, -0.05, 0.05),
               ('kalshi', 'KXRAIN-NYC', 'no', 'KXRAIN-NYC-no', 4, 0.70, 0, 0)
        """
    )
    await conn.execute(
        "insert into marks (venue, instrument_id, price, basis) "
        "values ('polymarket', 'pm-btc-100k-yes', 0.45, 'mid')"
    )
    # Cash: 250 + 250 opening, − 4.00 − 0.05 fee for the buy, − 2.80 for the repair = 493.15;
    # value 493.15 + 4.50 + 2.80 = 500.45, P&L +0.45 (+0.50 unrealised, −0.05 realised).
    await conn.execute(
        """
        insert into cash_flows (venue, kind, amount, market_id, outcome, size, client_order_id)
        values ('polymarket', 'opening', 250, null, null, null, null),
               ('kalshi', 'opening', 250, null, null, null, null),
               ('polymarket', 'buy', -4.00, 'pm-btc-100k', 'yes', 10, 'opp-1:a'),
               ('polymarket', 'fee', -0.05, 'pm-btc-100k', 'yes', 10, 'opp-1:a'),
               ('kalshi', 'adjustment', -2.80, 'KXRAIN-NYC', 'no', 4, null)
        """
    )
    await conn.execute(
        """
        insert into trades (trade_request_id, opportunity_id, strategy, status, cost, fees,
                            realized_pnl, closed_at)
        values ((select id from trade_requests where workflow_id = 'opp-1'), 'opp-1',
                'atomic-arb', 'closed', 4, 0.05, 1.25, %s)
        """,
        (NOW - timedelta(minutes=5),),
    )
    await conn.execute(
        """
        insert into exposure_reservations (workflow_id, strategy, capital)
        values ('opp-1', 'atomic-arb', 40);
        insert into exposure_reservation_legs (workflow_id, venue, market_id, amount)
        values ('opp-1', 'polymarket', 'pm-btc-100k', 40)
        """
    )
    today = NOW.date()
    for strategy, fraction, status, pnl, sharpe in (
        ("atomic-arb", D("0.35"), "active", D("12.40"), D("1.8")),
        ("oracle-sniper", D("0"), "paused", D("-8.10"), D("-0.9")),
    ):
        await conn.execute(
            """
            insert into strategy_performance (strategy, as_of, window_days, trades, pnl, sharpe,
                                              win_rate, max_drawdown)
            values (%s, %s, 7, 14, %s, %s, 0.6, 3.2)
            """,
            (strategy, today, pnl, sharpe),
        )
        await conn.execute(
            """
            insert into allocations (strategy, effective_date, fraction, capital, status, reason)
            values (%s, %s, %s, %s, %s, %s)
            """,
            (
                strategy,
                today,
                fraction,
                fraction * 500,
                status,
                "steady winner" if status == "active" else "negative 7-day P&L",
            ),
        )
    for hours_ago, value, hwm in ((5, "500", "500"), (3, "540", "540"), (1, "520", "540")):
        await conn.execute(
            """
            insert into portfolio_snapshots (taken_at, value, cash, deployed, unrealized_pnl,
                                             realized_pnl, high_water_mark, floor)
            values (%s, %s, 460, 40, 0.5, 1.25, %s, %s)
            """,
            (NOW - timedelta(hours=hours_ago), D(value), D(hwm), D(hwm) * D("0.8")),
        )
    await conn.execute(
        """
        insert into feed_health (feed, key, connected, messages, malformed, reconnects,
                                 age_seconds, stale, last_error)
        values ('binance', '', true, 1200, 0, 1, 0.4, false, null),
               ('nws', '', false, 30, 2, 5, 95.0, true, 'HTTP 503 from api.weather.gov'),
               ('binance', 'BTCUSDT', true, 0, 0, 0, 0.4, false, null)
        """
    )
    await conn.execute(
        """
        insert into alerts (tier, title, body, created_at)
        values ('routine', 'Feed reconnected', 'binance reconnected after 2s', %s),
               ('critical', 'Daily loss limit: trading paused', 'daily loss 52 ≥ 50', %s)
        """,
        (NOW - timedelta(minutes=30), NOW - timedelta(minutes=20)),
    )
    await conn.commit()
