"""The ``alerts`` section of the settings: where each tier is delivered and how often an
emergency repeats. Channel URLs are apprise URLs and are secrets (they embed tokens)."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

ChannelUrls = Annotated[list[SecretStr], NoDecode]


def _split_urls(value: Any) -> Any:
    """Accept a JSON list or a whitespace/comma separated string (what an env var can hold)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("looks like a JSON list but does not parse") from None
    return [part for part in re.split(r"[\s,]+", text) if part]


class AlertSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    push_urls: ChannelUrls = Field(
        default_factory=list,
        description="apprise URLs for push notifications (important, critical, emergency).",
    )
    sms_urls: ChannelUrls = Field(
        default_factory=list, description="apprise URLs for SMS (critical, emergency)."
    )
    email_urls: ChannelUrls = Field(
        default_factory=list, description="apprise URLs for e-mail (emergency)."
    )
    emergency_repeat_minutes: float = Field(
        5.0, gt=0, le=1440, description="An unacknowledged emergency is sent again this often."
    )
    delivery_timeout_seconds: float = Field(
        20.0, gt=0, le=300, description="Longest one channel may take to accept a message."
    )

    @field_validator("push_urls", "sms_urls", "email_urls", mode="before")
    @classmethod
    def _parse_urls(cls, value: Any) -> Any:
        return _split_urls(value)

    def urls(self, channel: str) -> list[str]:
        field: list[SecretStr] = getattr(self, f"{channel}_urls")
        return [url.get_secret_value() for url in field]
