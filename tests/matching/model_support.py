from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pmarb.matching.adjudicator import ModelAdjudicator
from pmarb.matching.settings import MatchingSettings
from tests.matching.fake_messages_api import Answer, FakeMessagesAPI
from tests.support import ServedApp

TEST_KEY = "sk-ant-test-0123456789abcdef"


def fast_settings(**overrides: Any) -> MatchingSettings:
    values: dict[str, Any] = {"requests_per_minute": 6000, "max_retries": 2, "timeout_seconds": 10}
    return MatchingSettings(**{**values, **overrides})


@asynccontextmanager
async def served_model(
    answer: Answer, *, throttle_first: int = 0, **settings: Any
) -> AsyncIterator[tuple[FakeMessagesAPI, ModelAdjudicator]]:
    api = FakeMessagesAPI(answer, throttle_first=throttle_first)
    async with ServedApp(api.app) as served:
        adjudicator = ModelAdjudicator(TEST_KEY, fast_settings(**settings), base_url=served.url)
        try:
            yield api, adjudicator
        finally:
            await adjudicator.aclose()
