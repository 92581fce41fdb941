"""RiskGuardianWorkflow: the account's high-water mark, ratcheting floor, daily-loss pause and
halt state, as one long-running entity (workflow id ``risk-guardian``).

It is fed portfolio values by signal only when the value moves materially, takes ``halt``,
``resume`` and ``set_limits`` as validated updates, answers ``state`` as a query, and accepts a
fire-and-forget ``HALT_ALL`` signal for the Temporal CLI. Effects on the world (the halt flag in
PostgreSQL, cancelling in-flight lifecycles, alerts) are activities run from the main loop, in
the order the messages arrived. State is carried across continue-as-new and restored in
``@workflow.init``, so no message is lost at the boundary.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from pmarb.activities.guardian import (
        AlertEffect,
        GuardianActivities,
        HaltEffect,
        PauseEffect,
    )
    from pmarb.domain.risk import RiskLimits

WORKFLOW_ID = "risk-guardian"
EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
MAX_PROCESSED_IDS = 500


@dataclass
class GuardianState:
    limits: RiskLimits
    high_water_mark: Decimal
    value: Decimal
    day: str | None = None
    day_start_value: Decimal | None = None
    halted: bool = False
    halt_reason: str | None = None
    paused_until: datetime | None = None
    processed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GuardianInput:
    limits: RiskLimits
    state: GuardianState | None = None
    # Tests use a small value so continue-as-new is exercised quickly.
    max_history: int = 2000


@dataclass(frozen=True)
class ValueUpdate:
    value: Decimal
    update_id: str = ""


@dataclass(frozen=True)
class HaltRequest:
    reason: str = "HALT_ALL"
    actor: str = "operator"


@dataclass(frozen=True)
class ResumeRequest:
    reason: str = "resumed by operator"
    actor: str = "operator"


@dataclass(frozen=True)
class GuardianView:
    halted: bool
    halt_reason: str | None
    value: Decimal
    high_water_mark: Decimal
    floor: Decimal
    paused_until: datetime | None
    limits: RiskLimits


@dataclass(frozen=True)
class _Effect:
    kind: str  # halt | resume | pause | unpause | limits | alert
    halt: HaltEffect | None = None
    pause: PauseEffect | None = None
    alert: AlertEffect | None = None
    limits: RiskLimits | None = None
    sequence: int = 0


@workflow.defn
class RiskGuardianWorkflow:
    @workflow.init
    def __init__(self, request: GuardianInput) -> None:
        self._max_history = request.max_history
        self._state = request.state or GuardianState(
            limits=request.limits,
            high_water_mark=request.limits.bankroll,
            value=request.limits.bankroll,
        )
        self._effects: deque[_Effect] = deque()
        self._issued = 0
        self._applied = 0

    # -- messages --------------------------------------------------------------------------

    @workflow.signal
    def portfolio_value(self, update: ValueUpdate) -> None:
        if update.update_id and update.update_id in self._state.processed:
            return
        if update.update_id:
            self._remember(update.update_id)
        self._observe(update.value)

    @workflow.signal(name="HALT_ALL")
    def halt_all(self, reason: str | None = None) -> None:
        self._halt(reason or "HALT_ALL signal", "temporal-cli")

    @workflow.update
    async def halt(self, request: HaltRequest | None = None) -> GuardianView:
        request = request or HaltRequest()
        sequence = self._halt(request.reason, request.actor)
        await workflow.wait_condition(lambda: self._applied >= sequence)
        return self.state()

    @halt.validator
    def _validate_halt(self, request: HaltRequest | None = None) -> None:
        if request is not None and not request.reason.strip():
            raise ValueError("a halt needs a reason")

    @workflow.update
    async def resume(self, request: ResumeRequest | None = None) -> GuardianView:
        request = request or ResumeRequest()
        self._state.halted = False
        self._state.halt_reason = None
        # The floor restarts from the value we resume at; otherwise we would halt again at once.
        self._state.high_water_mark = self._state.value
        sequence = self._enqueue(
            _Effect("resume", halt=HaltEffect(False, request.reason, request.actor))
        )
        await workflow.wait_condition(lambda: self._applied >= sequence)
        return self.state()

    @resume.validator
    def _validate_resume(self, request: ResumeRequest | None = None) -> None:
        if not self._state.halted:
            raise ValueError("trading is not halted; nothing to resume")

    @workflow.update
    async def set_limits(self, limits: RiskLimits) -> GuardianView:
        self._state.limits = limits
        sequence = self._enqueue(_Effect("limits", limits=limits))
        await workflow.wait_condition(lambda: self._applied >= sequence)
        return self.state()

    @set_limits.validator
    def _validate_limits(self, limits: RiskLimits) -> None:
        if limits.per_market_limit_pct > limits.per_venue_limit_pct:
            raise ValueError("the per-market limit cannot exceed the per-venue limit")
        if limits.per_venue_limit_pct > limits.max_deployed_pct:
            raise ValueError("the per-venue limit cannot exceed the deployed-capital limit")

    @workflow.query
    def state(self) -> GuardianView:
        state = self._state
        return GuardianView(
            halted=state.halted,
            halt_reason=state.halt_reason,
            value=state.value,
            high_water_mark=state.high_water_mark,
            floor=state.limits.floor_for(state.high_water_mark),
            paused_until=state.paused_until,
            limits=state.limits,
        )

    # -- rules -----------------------------------------------------------------------------

    def _observe(self, value: Decimal) -> None:
        state = self._state
        state.value = value
        today = workflow.now().date().isoformat()
        if state.day != today:
            state.day = today
            state.day_start_value = value
        state.high_water_mark = max(state.high_water_mark, value)
        floor = state.limits.floor_for(state.high_water_mark)
        if value <= floor and not state.halted:
            self._halt(
                f"ratchet stop: value {value} at or below floor {floor} "
                f"(high-water mark {state.high_water_mark})",
                "risk-guardian",
                tier="emergency",
            )
            return
        start = state.day_start_value or value
        if start - value >= state.limits.daily_loss_limit and (
            state.paused_until is None or state.paused_until <= workflow.now()
        ):
            until = _next_midnight(workflow.now())
            state.paused_until = until
            reason = f"daily loss {start - value} ≥ {state.limits.daily_loss_limit}"
            self._enqueue(_Effect("pause", pause=PauseEffect(until, reason)))
            self._enqueue(
                _Effect(
                    "alert",
                    alert=AlertEffect(
                        "critical",
                        "Daily loss limit: trading paused",
                        f"{reason}; paused until {until.isoformat()}",
                        f"pause-{state.day}",
                    ),
                )
            )

    def _halt(self, reason: str, actor: str, tier: str = "emergency") -> int:
        state = self._state
        state.halted = True
        state.halt_reason = reason
        self._enqueue(
            _Effect(
                "alert",
                alert=AlertEffect(tier, "HALT_ALL: trading halted", f"{reason} (by {actor})", None),
            )
        )
        return self._enqueue(_Effect("halt", halt=HaltEffect(True, reason, actor)))

    def _enqueue(self, effect: _Effect) -> int:
        self._issued += 1
        self._effects.append(
            _Effect(
                effect.kind, effect.halt, effect.pause, effect.alert, effect.limits, self._issued
            )
        )
        return self._issued

    def _remember(self, message_id: str) -> None:
        processed = self._state.processed
        processed.append(message_id)
        del processed[:-MAX_PROCESSED_IDS]

    # -- main loop -------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: GuardianInput) -> None:
        while True:
            timeout = None
            if self._state.paused_until is not None:
                timeout = max(self._state.paused_until - workflow.now(), timedelta(0))
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._effects) or self._should_continue_as_new(),
                    timeout=timeout,
                )
            while self._effects:
                effect = self._effects.popleft()
                await self._apply(effect)
                self._applied = effect.sequence
            paused_until = self._state.paused_until
            if paused_until is not None and paused_until <= workflow.now():
                self._state.paused_until = None
                self._state.day = workflow.now().date().isoformat()
                self._state.day_start_value = self._state.value
                await self._apply(_Effect("unpause", pause=PauseEffect(None, "new UTC day")))
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._effects:
                    workflow.continue_as_new(
                        GuardianInput(
                            limits=self._state.limits,
                            state=self._state,
                            max_history=self._max_history,
                        )
                    )

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() > self._max_history
        )

    async def _apply(self, effect: _Effect) -> None:
        timeout = timedelta(seconds=30)
        if effect.kind in ("halt", "resume") and effect.halt is not None:
            await workflow.execute_activity_method(
                GuardianActivities.set_halt_flag,
                effect.halt,
                start_to_close_timeout=timeout,
                retry_policy=EFFECT_RETRY,
            )
            if effect.kind == "halt":
                await workflow.execute_activity_method(
                    GuardianActivities.cancel_in_flight,
                    effect.halt.reason,
                    start_to_close_timeout=timedelta(seconds=60),
                    heartbeat_timeout=timedelta(seconds=20),
                    retry_policy=EFFECT_RETRY,
                )
        elif effect.kind in ("pause", "unpause") and effect.pause is not None:
            await workflow.execute_activity_method(
                GuardianActivities.set_pause,
                effect.pause,
                start_to_close_timeout=timeout,
                retry_policy=EFFECT_RETRY,
            )
        elif effect.kind == "limits" and effect.limits is not None:
            await workflow.execute_activity_method(
                GuardianActivities.store_limits,
                effect.limits,
                start_to_close_timeout=timeout,
                retry_policy=EFFECT_RETRY,
            )
        elif effect.kind == "alert" and effect.alert is not None:
            await workflow.execute_activity_method(
                GuardianActivities.raise_alert,
                effect.alert,
                start_to_close_timeout=timeout,
                retry_policy=EFFECT_RETRY,
            )


def _next_midnight(moment: datetime) -> datetime:
    day = moment.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=moment.tzinfo)
