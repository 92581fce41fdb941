"""``pmarb match evaluate`` and ``pmarb matches review`` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from pmarb.store import markets as market_store
from pmarb.store import matches as match_store
from tests.matching.fixture_pairs import as_jsonl_line, casebook_pairs, crypto_pairs, weather_pairs
from tests.matching.test_decisions import KALSHI_LAKERS, POLY_LAKERS_FIRST
from tests.matching.test_store import _decide_and_save
from tests.support import REPO, clean_env

Connection = psycopg.AsyncConnection[dict[str, Any]]


def pmarb(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pmarb", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env or clean_env(),
        timeout=120,
    )


def test_evaluate_prints_one_line_per_pair_in_order_and_a_summary(tmp_path: Path) -> None:
    pairs = casebook_pairs() + crypto_pairs() + weather_pairs()
    lines = [as_jsonl_line(pair) for pair in pairs]
    lines.insert(2, '{"a": {"venue": "kalshi", "id": "x", "title": "t"}, "b": 3}')
    lines.insert(4, "not json")
    lines.append(
        json.dumps(
            {
                "a": {
                    "venue": "kalshi",
                    "id": "k",
                    "title": "Lakers vs Celtics Winner?",
                    "subtitle": "Lakers",
                },
                "b": {
                    "venue": "polymarket",
                    "id": "p",
                    "title": "Lakers vs. Celtics",
                    "outcomes": ["Celtics", "Lakers"],
                },
                "label": "inverted",
            }
        )
    )
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n\n")
    result = pmarb(
        "match", "evaluate", str(path), "--offline", env=clean_env(ANTHROPIC_API_KEY="sk-unused")
    )
    assert result.returncode == 1, result.stderr
    output = [json.loads(line) for line in result.stdout.splitlines()]
    assert [item["line"] for item in output[:-1]] == list(range(1, len(lines) + 1))
    assert output[2]["error"] == '"b" must be an object'
    assert "not valid JSON" in output[4]["error"]
    assert "line 3:" in result.stderr and "line 5:" in result.stderr
    decided = [item for item in output[:-1] if "error" not in item]
    assert len(decided) == len(pairs) + 1
    assert all(set(item) >= {"relation", "tradable", "confidence", "reasons"} for item in decided)
    assert not any(item["tradable"] for item in decided)
    assert decided[-1]["relation"] in ("inverted", "different")
    summary = output[-1]["summary"]
    assert summary["pairs"] == len(pairs) + 1 and summary["errors"] == 2
    assert summary["tradable"] == 0 and summary["model_calls"] == 0
    assert summary["relations"]["related_not_equivalent"] >= len(crypto_pairs()) + len(
        weather_pairs()
    )
    assert summary["contradicted"] == 0 and summary["precision"] is None
    assert summary["labelled_equivalent"] == 1 and summary["recall"] == 0.0


def test_evaluate_names_a_missing_file(tmp_path: Path) -> None:
    result = pmarb("match", "evaluate", str(tmp_path / "nope.jsonl"), "--offline")
    assert result.returncode == 1
    assert "cannot read" in result.stderr and "nope.jsonl" in result.stderr


async def test_review_list_confirm_reject_from_the_command_line(
    database_url: str, db: Connection
) -> None:
    await market_store.upsert_markets(db, [KALSHI_LAKERS, POLY_LAKERS_FIRST])
    await db.commit()
    assert await _decide_and_save(db, 0.7)
    [pending] = await match_store.list_matches(db, review_status="pending")
    env = clean_env(DATABASE_URL=database_url)

    listed = pmarb("matches", "review", env=env)
    assert listed.returncode == 0, listed.stderr
    assert str(pending.id) in listed.stdout and "KXNBAGAME-LALBOS-LAL" in listed.stdout
    as_json = pmarb("matches", "review", "list", "--json", env=env)
    assert [json.loads(line)["id"] for line in as_json.stdout.splitlines()] == [pending.id]

    confirmed = pmarb("matches", "review", "confirm", str(pending.id), "--by", "alice", env=env)
    assert confirmed.returncode == 0, confirmed.stderr
    assert "tradable yes" in confirmed.stdout
    again = pmarb("matches", "review", "reject", str(pending.id), env=env)
    assert again.returncode == 1 and "not awaiting review" in again.stderr
    assert "nothing awaits review" in pmarb("matches", "review", "list", env=env).stdout
    tradable = pmarb("matches", "list", "--tradable", "--json", env=env)
    assert [json.loads(line)["id"] for line in tradable.stdout.splitlines()] == [pending.id]


async def test_evaluate_asks_the_configured_model_and_never_prints_the_key(
    tmp_path: Path,
) -> None:
    from tests.matching.fake_messages_api import FakeMessagesAPI, verdict
    from tests.matching.model_support import TEST_KEY
    from tests.support import ServedApp

    api = FakeMessagesAPI(lambda body: verdict("equivalent", 0.7))
    path = tmp_path / "pairs.jsonl"
    lakers = {
        "a": {
            "venue": "kalshi",
            "id": "k",
            "title": "Lakers vs Celtics Winner?",
            "subtitle": "Lakers",
        },
        "b": {
            "venue": "polymarket",
            "id": "p",
            "title": "Lakers vs. Celtics",
            "outcomes": ["Lakers", "Celtics"],
        },
        "label": "equivalent",
    }
    crypto = crypto_pairs()[0]
    path.write_text(json.dumps(lakers) + "\n" + as_jsonl_line(crypto) + "\n")
    async with ServedApp(api.app) as served:
        env = clean_env(
            ANTHROPIC_API_KEY=TEST_KEY,
            PMARB_MATCHING__BASE_URL=served.url,
            PMARB_MATCHING__MODEL="claude-test-2",
            PMARB_LOG_LEVEL="debug",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pmarb",
            "match",
            "evaluate",
            str(path),
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    output = [json.loads(line) for line in stdout.decode().splitlines()]
    assert output[0]["review"] == "pending" and not output[0]["tradable"]
    assert output[1]["relation"] == "related_not_equivalent"
    assert output[2]["summary"]["model_calls"] == 1  # the crypto pair never reaches the model
    assert output[2]["summary"]["pending_review"] == 1
    assert [body["model"] for body in api.requests] == ["claude-test-2"]
    assert TEST_KEY not in stdout.decode() + stderr.decode()
