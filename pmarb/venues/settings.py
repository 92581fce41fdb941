"""Where each venue is and how to authenticate, from configuration (``PMARB_VENUES__…``).

Every URL is configurable so the same adapters can point at the local simulator; credentials are
secrets (masked in ``config show``, registered with log redaction, never stored in plain text).
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolymarketSettings(_Section):
    enabled: bool = True
    gamma_url: str = "https://gamma-api.polymarket.com"
    clob_url: str = "https://clob.polymarket.com"
    ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    data_url: str | None = "https://data-api.polymarket.com"
    private_key: SecretStr | None = None
    api_key: str | None = None
    api_secret: SecretStr | None = None
    api_passphrase: SecretStr | None = None
    signature_type: int = Field(0, ge=0, le=3)
    funder: str | None = None
    max_markets: int | None = Field(500, gt=0)
    silence_timeout_seconds: float = Field(60.0, gt=0)


class KalshiSettings(_Section):
    enabled: bool = True
    rest_url: str = "https://external-api.kalshi.com/trade-api/v2"
    ws_url: str = "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    key_id: str | None = None
    private_key_pem: SecretStr | None = None
    series_tickers: tuple[str, ...] = ()
    silence_timeout_seconds: float = Field(30.0, gt=0)


class VenueSettings(_Section):
    polymarket: PolymarketSettings = Field(default_factory=PolymarketSettings)
    kalshi: KalshiSettings = Field(default_factory=KalshiSettings)
    paper_latency_seconds: float = Field(0.05, ge=0)
    # Paper cash per venue; unset splits the bankroll evenly across enabled venues.
    paper_balance: Decimal | None = Field(None, gt=0)
