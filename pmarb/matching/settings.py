"""Matcher configuration (``PMARB_MATCHING__*``); the API key lives on the top-level settings."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field

PER_MILLION = Decimal(1_000_000)


class TokenPrices(BaseModel):
    """US dollars per million tokens, used to record what each adjudication cost."""

    input: Decimal = Decimal("3")
    output: Decimal = Decimal("15")
    cache_write: Decimal = Decimal("3.75")
    cache_read: Decimal = Decimal("0.30")

    def cost(
        self,
        *,
        input_tokens: int,
        output_tokens: int,
        cache_write_tokens: int,
        cache_read_tokens: int,
    ) -> Decimal:
        total = (
            self.input * input_tokens
            + self.output * output_tokens
            + self.cache_write * cache_write_tokens
            + self.cache_read * cache_read_tokens
        )
        return total / PER_MILLION


class MatchingSettings(BaseModel):
    model_config = {"frozen": True, "extra": "forbid"}

    model: str = Field("claude-sonnet-4-6", min_length=1)
    base_url: str | None = Field(
        None, description="Messages API base URL; unset means the SDK default."
    )
    max_tokens: int = Field(2048, ge=256, le=16384)
    requests_per_minute: float = Field(40.0, gt=0)
    max_concurrency: int = Field(4, ge=1, le=64)
    max_retries: int = Field(4, ge=0, le=10)
    timeout_seconds: float = Field(60.0, gt=0)
    tradable_confidence: Decimal = Field(Decimal("0.85"), ge=0, le=1)
    review_confidence: Decimal = Field(Decimal("0.6"), ge=0, le=1)
    interval_seconds: int = Field(900, ge=10, description="Period of the MatchingWorkflow.")
    batch_size: int = Field(50, ge=1, le=1000)
    prices: TokenPrices = Field(default_factory=TokenPrices)
