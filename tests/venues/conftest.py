from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import FIXTURES

VENUE_FIXTURES = FIXTURES / "venues"


def fixture_path(venue: str, name: str) -> Path:
    return VENUE_FIXTURES / venue / name


def load_fixture(venue: str, name: str) -> Any:
    return json.loads(fixture_path(venue, name).read_text())


def raw_fixture(venue: str, name: str) -> bytes:
    return fixture_path(venue, name).read_bytes()


@pytest.fixture
def manifest() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((VENUE_FIXTURES / "MANIFEST.json").read_text())
    return result
