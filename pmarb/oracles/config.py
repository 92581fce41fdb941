"""Where each oracle feed connects and what it subscribes to. Every base URL is configurable so a
feed can point at the local exchange simulator instead of the real service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BinanceSettings(_Section):
    # The market-data-only host; stream.binance.com refuses some jurisdictions with HTTP 451.
    url: str = "wss://data-stream.binance.vision"
    market: Literal["spot", "usdm"] = "spot"
    streams: tuple[str, ...] = ("btcusdt@bookTicker", "btcusdt@trade")
    silence_timeout: float = Field(30.0, gt=0)


class CoinbaseExchangeSettings(_Section):
    url: str = "wss://ws-feed.exchange.coinbase.com"
    product_ids: tuple[str, ...] = ("BTC-USD",)
    channels: tuple[str, ...] = ("ticker", "matches", "heartbeat")
    silence_timeout: float = Field(30.0, gt=0)


class CoinbaseAdvancedSettings(_Section):
    url: str = "wss://advanced-trade-ws.coinbase.com"
    product_ids: tuple[str, ...] = ("BTC-USD",)
    # heartbeats keeps otherwise idle channels from being closed after 60-90 s.
    channels: tuple[str, ...] = ("ticker", "market_trades", "heartbeats")
    silence_timeout: float = Field(30.0, gt=0)


class RtdsSettings(_Section):
    url: str = "wss://ws-live-data.polymarket.com"
    binance_symbols: tuple[str, ...] = ("btcusdt",)
    chainlink_symbols: tuple[str, ...] = ("btc/usd",)
    twap_topics: tuple[str, ...] = ("crypto_prices_twap_thirty", "crypto_prices_twap_sixty")
    ping_interval: float = Field(5.0, gt=0)
    silence_timeout: float = Field(30.0, gt=0)


class NwsSettings(_Section):
    base_url: str = "https://api.weather.gov"
    # api.weather.gov refuses requests without a User-Agent; it asks for a contact in it.
    user_agent: str = Field("pmarb/0.1 (prediction-market research)", min_length=1)
    poll_seconds: float = Field(300.0, gt=0)
    timeout_seconds: float = Field(15.0, gt=0)


class OpenWeatherMapSettings(_Section):
    base_url: str = "https://api.openweathermap.org"
    api_key: SecretStr | None = None
    poll_seconds: float = Field(600.0, gt=0)
    timeout_seconds: float = Field(15.0, gt=0)


class OracleSettings(_Section):
    binance: BinanceSettings = Field(default_factory=BinanceSettings)
    coinbase_exchange: CoinbaseExchangeSettings = Field(default_factory=CoinbaseExchangeSettings)
    coinbase_advanced: CoinbaseAdvancedSettings = Field(default_factory=CoinbaseAdvancedSettings)
    rtds: RtdsSettings = Field(default_factory=RtdsSettings)
    nws: NwsSettings = Field(default_factory=NwsSettings)
    openweathermap: OpenWeatherMapSettings = Field(default_factory=OpenWeatherMapSettings)
