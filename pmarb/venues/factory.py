"""Build the configured venue adapters (live) and, on paper, their paper twins."""

from __future__ import annotations

from decimal import Decimal

from pmarb.domain.market import VenueId
from pmarb.venues.base import Venue
from pmarb.venues.kalshi.adapter import KalshiConfig, KalshiVenue
from pmarb.venues.paper.venue import PaperConfig, PaperVenue
from pmarb.venues.polymarket.adapter import PolymarketConfig, PolymarketVenue
from pmarb.venues.polymarket.auth import ApiCredentials
from pmarb.venues.settings import VenueSettings

LiveVenue = PolymarketVenue | KalshiVenue


def build_live_venues(settings: VenueSettings) -> dict[VenueId, LiveVenue]:
    venues: dict[VenueId, LiveVenue] = {}
    poly = settings.polymarket
    if poly.enabled:
        credentials = (
            ApiCredentials(
                api_key=poly.api_key,
                secret=poly.api_secret.get_secret_value(),
                passphrase=poly.api_passphrase.get_secret_value(),
            )
            if poly.api_key and poly.api_secret and poly.api_passphrase
            else None
        )
        venues[VenueId.POLYMARKET] = PolymarketVenue(
            PolymarketConfig(
                gamma_url=poly.gamma_url,
                clob_url=poly.clob_url,
                ws_url=poly.ws_url,
                data_url=poly.data_url,
                private_key=poly.private_key.get_secret_value() if poly.private_key else None,
                credentials=credentials,
                signature_type=poly.signature_type,
                funder=poly.funder,
                max_markets=poly.max_markets,
                silence_timeout=poly.silence_timeout_seconds,
            )
        )
    kalshi = settings.kalshi
    if kalshi.enabled:
        venues[VenueId.KALSHI] = KalshiVenue(
            KalshiConfig(
                rest_url=kalshi.rest_url,
                ws_url=kalshi.ws_url,
                key_id=kalshi.key_id,
                private_key_pem=(
                    kalshi.private_key_pem.get_secret_value().encode()
                    if kalshi.private_key_pem
                    else None
                ),
                series_tickers=kalshi.series_tickers,
                silence_timeout=kalshi.silence_timeout_seconds,
            )
        )
    return venues


def trading_venues(
    live: dict[VenueId, LiveVenue],
    settings: VenueSettings,
    *,
    paper: bool,
    bankroll: Decimal,
    max_book_age: float,
) -> dict[VenueId, Venue]:
    """The venues orders go to: the live adapters, or paper venues filling against their books
    (refusing a book older than ``max_book_age``, the risk profile's stale-quote limit)."""
    if not paper:
        return dict(live)
    balance = settings.paper_balance or (bankroll / max(len(live), 1))
    return {
        venue_id: PaperVenue(
            adapter,
            adapter.store,
            PaperConfig(
                starting_balance=balance,
                latency=settings.paper_latency_seconds,
                max_book_age=max_book_age,
            ),
        )
        for venue_id, adapter in live.items()
    }
