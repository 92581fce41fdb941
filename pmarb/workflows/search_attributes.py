"""Custom search attributes that make every lifecycle findable in the Temporal Web UI."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STRATEGY = SearchAttributeKey.for_keyword("Strategy")
VENUE = SearchAttributeKey.for_keyword("Venue")
MARKET = SearchAttributeKey.for_keyword("Market")
OPPORTUNITY_KIND = SearchAttributeKey.for_keyword("OpportunityKind")
STAGE = SearchAttributeKey.for_keyword("Stage")

ALL: tuple[SearchAttributeKey[str], ...] = (STRATEGY, VENUE, MARKET, OPPORTUNITY_KIND, STAGE)


def dev_server_flags() -> list[str]:
    """``--search-attribute`` values for ``temporal server start-dev``."""
    return [f"{key.name}=Keyword" for key in ALL]
