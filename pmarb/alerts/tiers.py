"""Which channels each tier reaches. Routine alerts stay on the dashboard."""

from __future__ import annotations

from enum import StrEnum

from pmarb.store.alerts import AlertTier


class Channel(StrEnum):
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"


CHANNELS: dict[AlertTier, tuple[Channel, ...]] = {
    AlertTier.ROUTINE: (),
    AlertTier.IMPORTANT: (Channel.PUSH,),
    AlertTier.CRITICAL: (Channel.SMS, Channel.PUSH),
    AlertTier.EMERGENCY: (Channel.PUSH, Channel.SMS, Channel.EMAIL),
}


def channels_for(tier: AlertTier) -> tuple[Channel, ...]:
    return CHANNELS[tier]


def repeats_until_acknowledged(tier: AlertTier) -> bool:
    return tier is AlertTier.EMERGENCY
