"""Sending one alert to its tier's channels through apprise.

Channel URLs embed provider tokens, so they are registered with the log redactor, apprise's own
logger is kept quiet (its messages can quote hosts and paths), and only the channel name and
counts are ever recorded.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import apprise

from pmarb import logs
from pmarb.alerts.settings import AlertSettings
from pmarb.alerts.tiers import Channel
from pmarb.store.alerts import AlertTier

log = logging.getLogger(__name__)
logging.getLogger("apprise").setLevel(logging.CRITICAL)

_NOTIFY_TYPE = {
    AlertTier.ROUTINE: apprise.NotifyType.INFO,
    AlertTier.IMPORTANT: apprise.NotifyType.INFO,
    AlertTier.CRITICAL: apprise.NotifyType.WARNING,
    AlertTier.EMERGENCY: apprise.NotifyType.FAILURE,
}


@dataclass(frozen=True, slots=True)
class Message:
    alert_id: int
    tier: AlertTier
    title: str
    body: str
    round_number: int


@dataclass(frozen=True, slots=True)
class ChannelResult:
    channel: Channel
    ok: bool
    sent: int
    failed: int
    error: str | None = None

    def record(self, round_number: int) -> dict[str, Any]:
        return {
            "channel": self.channel.value,
            "round": round_number,
            "ok": self.ok,
            "sent": self.sent,
            "failed": self.failed,
            "error": self.error,
            "at": datetime.now(UTC).isoformat(),
        }


class Channels:
    """The configured apprise targets per channel; a channel with no URL is simply absent."""

    def __init__(self, settings: AlertSettings) -> None:
        self._settings = settings
        self._targets: dict[Channel, list[str]] = {}
        for channel in Channel:
            urls = settings.urls(channel.value)
            for url in urls:
                logs.register_secret(url)
            if urls:
                self._targets[channel] = urls

    def configured(self, channel: Channel) -> bool:
        return channel in self._targets

    def summary(self) -> dict[str, int]:
        """How many URLs each channel has; safe to show (no URL is included)."""
        return {channel.value: len(self._targets.get(channel, [])) for channel in Channel}

    async def send(self, channel: Channel, message: Message) -> ChannelResult:
        urls = self._targets.get(channel)
        if not urls:
            return ChannelResult(channel, ok=False, sent=0, failed=0, error="not configured")
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(_notify, channel, urls, message),
                self._settings.delivery_timeout_seconds,
            )
        except TimeoutError:
            return ChannelResult(channel, ok=False, sent=0, failed=len(urls), error="timed out")


def _notify(channel: Channel, urls: list[str], message: Message) -> ChannelResult:
    sent = failed = 0
    for url in urls:
        # One Apprise object per URL, so a count per target is known and one bad URL cannot
        # hide the others.
        target = apprise.Apprise()
        if not target.add(url):
            failed += 1
            continue
        result = target.notify(
            title=_title(message),
            body=_body(message),
            notify_type=_NOTIFY_TYPE[message.tier],
        )
        # apprise 2.3 returns an AppriseResult, whose truth value is the success.
        if bool(result):
            sent += 1
        else:
            failed += 1
    error = None if failed == 0 else f"{failed} of {len(urls)} targets failed"
    if failed:
        log.warning("alert %d: %s channel: %s", message.alert_id, channel.value, error)
    return ChannelResult(channel, ok=failed == 0, sent=sent, failed=failed, error=error)


def _title(message: Message) -> str:
    prefix = f"[pmarb {message.tier.value.upper()}]"
    repeat = f" (repeat {message.round_number - 1})" if message.round_number > 1 else ""
    return f"{prefix} {message.title}{repeat}"


def _body(message: Message) -> str:
    footer = ""
    if message.tier is AlertTier.EMERGENCY:
        footer = (
            f"\n\nRepeats until acknowledged: `pmarb alerts ack {message.alert_id}` "
            "or the dashboard's Alerts page."
        )
    return f"{message.body}{footer}\n\nalert #{message.alert_id}"
