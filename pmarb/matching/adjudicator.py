"""Model adjudication through the Anthropic Messages API, with structured output via a tool.

The shared instructions and the tool schema are marked for prompt caching, so a batch pays for
them once. The SDK retries 429/5xx/overload with back-off (honouring ``retry-after``); this
module spaces calls (:class:`RateLimiter`) and records the tokens and cost of every call. The
API key goes to the SDK only: it is never logged, stored or put in an error message.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, cast

import anthropic
from anthropic.types import MessageParam, TextBlockParam, ToolChoiceToolParam, ToolParam
from pydantic import BaseModel, Field, ValidationError

from pmarb import logs
from pmarb.domain.market import Market
from pmarb.matching.compare import Agreement, Comparison, FieldCheck
from pmarb.matching.decision import ModelVerdict
from pmarb.matching.prompt import INSTRUCTIONS, PROMPT_VERSION, TOOL_NAME, tool_definition
from pmarb.matching.proposition import FIELDS, Proposition, Relation
from pmarb.matching.ratelimit import RateLimiter
from pmarb.matching.settings import MatchingSettings

log = logging.getLogger(__name__)


class _FieldOutput(BaseModel):
    a: str | None = None
    b: str | None = None
    agreement: Literal["agree", "differ", "unknown", "complement"]
    note: str = ""


class _ToolOutput(BaseModel):
    relation: Relation
    confidence: float = Field(ge=0, le=1)
    fields: dict[str, _FieldOutput]
    reasons: list[str] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One Messages API call, as recorded in ``llm_calls`` (never the prompt or the key)."""

    model: str
    status: str  # "ok", "invalid_output" or "error"
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_ms: int = 0
    request_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class AdjudicationResult:
    verdict: ModelVerdict | None  # None when the API could not be reached: decide again later
    call: CallRecord


def _market_document(market: Market) -> dict[str, Any]:
    return {
        "venue": market.venue.value,
        "id": market.market_id,
        "title": market.title,
        "subtitle": market.subtitle,
        "outcomes": {"YES": market.outcome_names[0], "NO": market.outcome_names[1]},
        "rules": market.rules,
        "settlement_source": market.settlement_source,
        "close_time": market.close_time.isoformat() if market.close_time else None,
        "observation_time": market.observation_time.isoformat()
        if market.observation_time
        else None,
        "event": market.event_id,
        "series": market.series_id,
        "strike": {
            "type": market.strike_type,
            "floor": str(market.floor_strike) if market.floor_strike is not None else None,
            "cap": str(market.cap_strike) if market.cap_strike is not None else None,
        },
    }


def pair_prompt(
    a: Market, b: Market, propositions: tuple[Proposition, Proposition], comparison: Comparison
) -> str:
    parser = {
        "a": propositions[0].as_evidence(),
        "b": propositions[1].as_evidence(),
        "field_checks": {check.name: check.agreement.value for check in comparison.checks},
    }
    return (
        "Contract A:\n"
        + json.dumps(_market_document(a), indent=1)
        + "\n\nContract B:\n"
        + json.dumps(_market_document(b), indent=1)
        + "\n\nDeterministic parser's reading (null = not parsed):\n"
        + json.dumps(parser, indent=1)
    )


def _safe_error(error: Exception, api_key: str) -> str:
    text = f"{type(error).__name__}: {error}"[:500]
    return text.replace(api_key, "***") if api_key else text


class ModelAdjudicator:
    def __init__(
        self,
        api_key: str,
        settings: MatchingSettings,
        *,
        base_url: str | None = None,
    ) -> None:
        logs.register_secret(api_key)
        self._api_key = api_key
        self._settings = settings
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key,
            base_url=base_url or settings.base_url,
            max_retries=settings.max_retries,
            timeout=settings.timeout_seconds,
        )
        self._limiter = RateLimiter(settings.requests_per_minute, settings.max_concurrency)
        self._tools: list[ToolParam] = [cast(ToolParam, tool_definition())]
        self._system: list[TextBlockParam] = [
            {"type": "text", "text": INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}
        ]
        self._tool_choice: ToolChoiceToolParam = {"type": "tool", "name": TOOL_NAME}

    @property
    def model(self) -> str:
        return self._settings.model

    @property
    def settings(self) -> MatchingSettings:
        return self._settings

    @property
    def cache_key(self) -> str:
        """What a cached verdict depends on besides the two markets' terms."""
        return f"{self._settings.model}|{PROMPT_VERSION}"

    async def aclose(self) -> None:
        await self._client.close()

    async def adjudicate(
        self,
        a: Market,
        b: Market,
        propositions: tuple[Proposition, Proposition],
        comparison: Comparison,
    ) -> AdjudicationResult:
        settings = self._settings
        started = time.monotonic()
        async with self._limiter:
            try:
                messages: list[MessageParam] = [
                    {"role": "user", "content": pair_prompt(a, b, propositions, comparison)}
                ]
                message = await self._client.messages.create(
                    model=settings.model,
                    max_tokens=settings.max_tokens,
                    system=self._system,
                    tools=self._tools,
                    tool_choice=self._tool_choice,
                    messages=messages,
                    metadata={"user_id": "pmarb-matcher"},
                )
            except anthropic.APIError as e:
                error = _safe_error(e, self._api_key)
                log.warning("adjudication of %s/%s failed: %s", a.market_id, b.market_id, error)
                latency = int((time.monotonic() - started) * 1000)
                return AdjudicationResult(
                    None, CallRecord(settings.model, "error", latency_ms=latency, error=error)
                )
        latency = int((time.monotonic() - started) * 1000)
        usage = message.usage
        tokens = {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": usage.cache_creation_input_tokens or 0,
            "cache_read_input_tokens": usage.cache_read_input_tokens or 0,
        }
        cost = settings.prices.cost(
            input_tokens=tokens["input_tokens"],
            output_tokens=tokens["output_tokens"],
            cache_write_tokens=tokens["cache_creation_input_tokens"],
            cache_read_tokens=tokens["cache_read_input_tokens"],
        )
        verdict, problem = self._verdict(message)
        record = CallRecord(
            model=message.model or settings.model,
            status="ok" if problem is None else "invalid_output",
            cost_usd=cost,
            latency_ms=latency,
            request_id=message.id,
            error=problem,
            **tokens,
        )
        return AdjudicationResult(verdict, record)

    def _verdict(self, message: Any) -> tuple[ModelVerdict, str | None]:
        model = self._settings.model
        block = next(
            (
                item
                for item in message.content
                if getattr(item, "type", None) == "tool_use" and item.name == TOOL_NAME
            ),
            None,
        )
        if block is None:
            return _unusable(model, "the model did not call the tool"), "no tool call"
        try:
            output = _ToolOutput.model_validate(block.input)
        except ValidationError as e:
            problem = f"tool input failed validation: {e.error_count()} error(s)"
            return _unusable(model, problem), problem
        missing = [name for name in FIELDS if name not in output.fields]
        fields = {
            name: FieldCheck(
                name,
                output.fields[name].a,
                output.fields[name].b,
                Agreement(output.fields[name].agreement),
                "model",
                output.fields[name].note,
            )
            for name in FIELDS
            if name in output.fields
        }
        for name in missing:
            fields[name] = FieldCheck(name, None, None, Agreement.UNKNOWN, "model", "not answered")
        verdict = ModelVerdict(
            relation=output.relation,
            confidence=Decimal(str(round(output.confidence, 4))),
            fields=fields,
            reasons=tuple(output.reasons),
            model=model,
        )
        return verdict, ("fields missing: " + ", ".join(missing)) if missing else None


def _unusable(model: str, reason: str) -> ModelVerdict:
    """An answer that could not be read counts as no confidence in anything: fail closed."""
    return ModelVerdict(Relation.UNCERTAIN, Decimal(0), {}, (reason,), model)
