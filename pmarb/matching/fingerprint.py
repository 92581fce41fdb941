"""The terms of a market that a match depends on, hashed: any change re-opens its pairs."""

from __future__ import annotations

from pmarb.domain.market import Market, rules_hash


def terms_hash(market: Market) -> str:
    """Rules plus everything else that states the proposition (title, strikes, outcomes, times).

    ``Market.rules_fingerprint`` covers the rule text only; many markets carry the strike or the
    named participant in the title or subtitle, so a change there must re-open the pair too.
    """
    times = [t.isoformat() if t else "" for t in (market.close_time, market.observation_time)]
    return rules_hash(
        market.rules_fingerprint,
        market.title,
        market.subtitle,
        "|".join(market.outcome_names),
        market.strike_type,
        str(market.floor_strike) if market.floor_strike is not None else None,
        str(market.cap_strike) if market.cap_strike is not None else None,
        market.settlement_source,
        *times,
    )
