"""Venue order timing: how long a venue holds an order before it matches it.

Only Polymarket documents such a hold (checked 2026-12; sources below). Kalshi documents none:
its order statuses are ``resting``, ``canceled`` and ``executed`` with no pending or delayed
state (docs.kalshi.com, Python SDK model ``OrderStatus``), so its markets keep a delay of 0.

Polymarket holds an order that is marketable on arrival ("taker" orders; post-only and resting
limit orders are never held):

- Crypto and financial up/down markets, orders sent through the API, since 2026-06-05: 250 ms.
  The CLOB market info field ``itode`` says "marketable orders are held for the 250 ms
  taker-delay window before synchronous processing" (docs.polymarket.com
  api-reference/markets/get-clob-market-info). The announcement (reported by Jinse Finance on
  2026-06-03) adds: during the window the order is locked as pending/delayed and cannot be
  cancelled (a cancel is refused with "cannot cancel because the order is in pending/delayed
  status"), the funds it needs stay reserved against other orders, resubmitting the same order
  is refused, and a client disconnect does not stop it. An earlier 500 ms delay on crypto
  up/down markets ran from 2025-11-14 to 2026-02-18 (Capitola Research, "500ms Taker
  Speedbump"); it no longer applies.
- Sports markets publish ``secondsDelay`` (Gamma; ``seconds_delay`` on the CLOB): a matching
  delay of that many seconds (3 on a recorded CS2 moneyline). Either way ``POST /order``
  answers ``status: "delayed"`` and the order matches, or ends ``UNMATCHED``, once the delay
  has passed (Polymarket ts-sdk ``waitForOrderFillSettlement``).

The paper venue, the simulator and the backtest apply the same hold: the order matches against
the book as of its arrival plus the delay, and cannot be cancelled meanwhile.

Good-til-date orders (checked 2026-12): Polymarket's GTD order "expire[s] one minute before
[its] stated expiration as a security threshold. To set an effective lifetime of N seconds, use
now + 60 + N. In addition, the expiration must be at least 3 minutes in the future — orders
expiring sooner are rejected — so the minimum effective lifetime is about two minutes"
(docs.polymarket.com/trading/place-orders; the SDKs py-sdk#134 and ts-sdk#175 enforce the same
180 s minimum). pmarb's orders carry the moment they should stop working
(:func:`gtd_expiration` turns it into the field a venue wants). Kalshi's ``expiration_time``
(unix seconds, with ``good_till_canceled``) is when the order stops, any future time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from pmarb.domain.market import Market, VenueId

POLYMARKET_UP_DOWN_TAKER_DELAY = 0.25  # seconds; see the module docstring
POLYMARKET_GTD_SECURITY_THRESHOLD = timedelta(minutes=1)
POLYMARKET_GTD_MIN_AHEAD = timedelta(minutes=3)
GTD_TOO_SOON = "invalid expiration: a GTD order must expire at least 3 minutes in the future"


def gtd_expiration(venue: VenueId, stops_at: datetime) -> datetime:
    """The expiration to send so that a GTD order stops working at ``stops_at``."""
    if venue is VenueId.POLYMARKET:
        return stops_at + POLYMARKET_GTD_SECURITY_THRESHOLD
    return stops_at


def min_gtd_lifetime(venue: VenueId) -> timedelta:
    """The shortest working life the venue accepts for a GTD order."""
    if venue is VenueId.POLYMARKET:
        return POLYMARKET_GTD_MIN_AHEAD - POLYMARKET_GTD_SECURITY_THRESHOLD
    return timedelta(0)


def gtd_refusal(venue: VenueId, stops_at: datetime, now: datetime) -> str | None:
    """Why the venue would refuse a GTD order meant to stop at ``stops_at``, or None."""
    if stops_at <= now:
        return "a GTD order needs a future expiration"
    if (
        venue is VenueId.POLYMARKET
        and gtd_expiration(venue, stops_at) < now + POLYMARKET_GTD_MIN_AHEAD
    ):
        return GTD_TOO_SOON
    return None


DELAYED_CANCEL_REFUSED = "cannot cancel because the order is in pending/delayed status"


class _Order(Protocol):
    @property
    def post_only(self) -> bool: ...


def order_delay(market: Market, order: _Order, *, marketable: bool) -> float:
    """Seconds ``market``'s venue holds ``order`` before matching it: the market's taker delay
    for an order that would take liquidity on arrival, 0 for post-only and resting orders."""
    if order.post_only or not marketable:
        return 0.0
    return market.taker_delay_seconds
