"""docker-compose.yml validated by the Docker Compose v2 binary (no engine needed)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import compose
import pytest

from tests.support import REPO

BINARY = Path(compose.__file__).parent / "docker-compose"


def compose_config(*extra: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BINARY), "-f", "docker-compose.yml", "--env-file", ".env.example", "config", *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    result = compose_config("--format", "json")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_compose_file_is_valid() -> None:
    result = compose_config("-q")
    assert result.returncode == 0, result.stderr


def test_every_service_pmarb_needs_is_there(model: dict[str, Any]) -> None:
    services = model["services"]
    assert {
        "postgres",
        "temporal",
        "temporal-ui",
        "temporal-schema",
        "temporal-setup",
        "worker",
        "marketdata",
        "api",
        "migrate",
    } <= set(services)
    assert services["temporal"]["image"].startswith("temporalio/server:")
    assert services["temporal-ui"]["image"].startswith("temporalio/ui:")
    assert services["temporal-schema"]["image"].startswith("temporalio/admin-tools:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    for name in ("worker", "marketdata", "api"):
        assert services[name]["command"] == [name]
        assert services[name]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert services[name]["environment"]["DATABASE_URL"].endswith("@postgres:5432/pmarb")


def test_health_checks_and_named_volumes(model: dict[str, Any]) -> None:
    services = model["services"]
    for name in ("postgres", "temporal", "temporal-ui", "api", "worker"):
        assert "healthcheck" in services[name], name
    assert {"postgres-data", "pmarb-data"} <= set(model["volumes"])
    assert services["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )


def test_a_broken_file_is_rejected(tmp_path: Path) -> None:
    shutil.copy(REPO / ".env.example", tmp_path / ".env.example")
    text = (
        (REPO / "docker-compose.yml")
        .read_text()
        .replace("condition: service_healthy", "condition: service_is_fine", 1)
    )
    (tmp_path / "docker-compose.yml").write_text(text)
    for folder in ("deploy",):
        shutil.copytree(REPO / folder, tmp_path / folder)
    assert compose_config("-q", cwd=tmp_path).returncode != 0
