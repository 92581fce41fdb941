"""Response and request models of the API. Money is Decimal (a string in JSON)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from pmarb.domain.risk import RiskLimits

T = TypeVar("T")


class Problem(BaseModel):
    detail: str


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class _Row(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PortfolioPoint(_Row):
    taken_at: datetime
    value: Decimal
    cash: Decimal
    deployed: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    high_water_mark: Decimal | None
    floor: Decimal | None


class MarkedPosition(BaseModel):
    venue: str
    market_id: str
    outcome: str
    instrument_id: str
    size: Decimal
    average_price: Decimal
    mark: Decimal
    mark_source: Literal["mid", "bid", "ask", "cost"] = Field(
        description="What the mark is: the book's mid, its only side, or the average price "
        "(cost) when there is no book."
    )
    value: Decimal = Field(description="size × mark")
    unrealized_pnl: Decimal = Field(description="size × (mark − average price)")


class Portfolio(BaseModel):
    value: Decimal = Field(
        description="cash + positions_value: the ledger's cash plus every open position at its "
        "mark (pmarb/domain/portfolio.py)."
    )
    cash: Decimal = Field(
        description="starting_balance − what buys cost − fees + what sells raised + settlement "
        "payouts: the sum of the ledger's cash flows."
    )
    positions_value: Decimal = Field(description="Σ size × mark over the open positions.")
    starting_balance: Decimal = Field(
        description="The paper venues' opening balances (the bankroll when there are none)."
    )
    pnl: Decimal = Field(description="value − starting_balance.")
    unrealized_pnl: Decimal = Field(description="Σ size × (mark − average price).")
    realized_pnl: Decimal = Field(description="pnl − unrealized_pnl.")
    positions: list[MarkedPosition]
    high_water_mark: Decimal | None
    floor: Decimal | None
    headroom: Decimal | None = Field(description="Value minus floor: loss left before HALT_ALL.")
    deployed: Decimal = Field(description="Capital reserved by the active lifecycles.")
    realized_pnl_today: Decimal
    bankroll: Decimal
    halted: bool
    halt_reason: str | None
    paused_until: datetime | None
    ratchet_source: Literal["guardian", "snapshot", "none"] = Field(
        description="Where the high-water mark and floor came from (the guardian enforces them)."
    )
    snapshot_at: datetime | None = Field(
        description="When the market-data process last valued the ledger and kept its marks."
    )
    series: list[PortfolioPoint]


class Position(_Row):
    venue: str
    market_id: str
    outcome: str
    instrument_id: str
    title: str | None
    size: Decimal
    average_price: Decimal
    mark: Decimal | None = Field(description="As the portfolio marks it; None when flat.")
    mark_source: Literal["mid", "bid", "ask", "cost"] | None
    marked_at: datetime | None
    value: Decimal = Field(description="size × mark")
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    fees: Decimal
    updated_at: datetime


class Positions(BaseModel):
    items: list[Position]
    value: Decimal = Field(description="Σ size × mark: the portfolio's positions_value.")
    unrealized_pnl: Decimal = Field(description="Σ size × (mark − average price).")
    unmarked: int = Field(description="Open positions with no book to mark them, held at cost.")


class StrategyStanding(_Row):
    strategy: str
    as_of: date | None
    window_days: int | None
    window_trades: int | None
    window_pnl: Decimal | None
    sharpe: Decimal | None
    win_rate: Decimal | None
    max_drawdown: Decimal | None
    effective_date: date | None
    fraction: Decimal | None
    capital: Decimal | None
    status: str | None
    reason: str | None
    open_trades: int
    realized_pnl_all_time: Decimal


class OpportunityItem(_Row):
    id: str
    kind: str
    detected_at: datetime
    expires_at: datetime
    edge: Decimal
    size: Decimal
    fair_value: Decimal | None
    status: str
    workflow_id: str | None
    legs: Any
    updated_at: datetime
    strategy: str | None
    risk_decision: str | None
    risk_reason: str | None
    pnl: Decimal | None
    temporal_url: str | None = None


class FeedRow(_Row):
    feed: str
    key: str
    connected: bool
    messages: int
    malformed: int
    reconnects: int
    age_seconds: float | None
    stale: bool
    last_error: str | None
    updated_at: datetime
    report_age_seconds: float = Field(description="Seconds since the market-data process wrote it.")


class Feeds(BaseModel):
    feeds: list[FeedRow] = Field(description="One row per feed (key '').")
    keys: list[FeedRow] = Field(description="Per instrument or symbol within a feed.")
    healthy: bool
    stale_after_seconds: float


class Utilisation(BaseModel):
    name: str
    used: Decimal
    limit: Decimal | None
    fraction: Decimal | None


class Rejection(_Row):
    id: int
    occurred_at: datetime
    kind: str
    reason_code: str
    workflow_id: str | None
    strategy: str | None
    venue: str | None
    market_id: str | None
    opportunity_id: str | None
    details: Any


class ReasonCount(_Row):
    reason_code: str
    count: int


class Risk(BaseModel):
    limits: RiskLimits
    limits_source: Literal["guardian", "database", "settings"]
    halted: bool
    halt_reason: str | None
    halted_at: datetime | None
    halted_by: str | None
    paused_until: datetime | None
    active_lifecycles: int
    deployed: Utilisation
    venues: list[Utilisation]
    markets: list[Utilisation]
    strategies: list[Utilisation]
    recent_rejections: list[Rejection]
    rejections_24h: list[ReasonCount]


class AuditItem(_Row):
    id: int
    workflow_id: str
    opportunity_id: str | None
    strategy: str
    requested_at: datetime
    decided_at: datetime | None
    closed_at: datetime | None
    risk_decision: str | None
    risk_reason: str | None
    status: str
    bid: Any
    execution: Any
    fees: Decimal | None
    slippage: Decimal | None
    pnl: Decimal | None
    opportunity_kind: str | None
    edge: Decimal | None
    size: Decimal | None
    detected_at: datetime | None
    legs: Any
    orders: list[dict[str, Any]]
    temporal_url: str | None = None


class AlertChannels(BaseModel):
    push: int
    sms: int
    email: int


class AlertConfig(BaseModel):
    channels: AlertChannels = Field(description="How many URLs each channel has (never the URLs).")
    emergency_repeat_minutes: float


class Config(BaseModel):
    paper: bool
    limits: RiskLimits
    limits_source: Literal["guardian", "database", "settings"]
    temporal_namespace: str
    task_queue: str
    temporal_ui_url: str | None
    alerts: AlertConfig


class AlertItem(_Row):
    id: int
    tier: str
    title: str
    body: str
    dedupe_key: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_via: str | None
    time_to_acknowledge_seconds: float | None
    workflow_id: str | None
    deliveries: list[dict[str, Any]]
    temporal_url: str | None = None


class AckResult(BaseModel):
    alert: AlertItem
    newly_acknowledged: bool
    workflow_notified: bool


class MatchItem(_Row):
    id: int
    venue_a: str
    market_a: str
    title_a: str | None
    venue_b: str
    market_b: str
    title_b: str | None
    relation: str
    confidence: Decimal
    evidence: Any
    decided_by: str
    tradable: bool
    review_status: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    close_time_a: datetime | None
    close_time_b: datetime | None


class ReviewRequest(BaseModel):
    by: str | None = Field(
        None, min_length=1, max_length=100, description="Who decided (default: the API actor)."
    )


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give (every one has a reason)."""
    described = {
        400: "The request cannot be applied (the reason says why).",
        401: "No valid bearer token.",
        403: "Forbidden.",
        404: "No such resource.",
        409: "The resource is not in a state that allows this.",
        503: "A backing service (database, Temporal, risk guardian) is not available.",
    }
    return {code: {"model": Problem, "description": described[code]} for code in codes}
