"""``pmarb up`` as a user runs it: a real process tree, real ports, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from tests.support import clean_env, free_port, public_tempdir

pytestmark = pytest.mark.slow


class Stack:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.ui_port = free_port()
        self.env = clean_env(
            PMARB_DATA_DIR=str(data_dir),
            PMARB_POSTGRES_PORT=str(free_port()),
            PMARB_TEMPORAL_PORT=str(free_port()),
            PMARB_TEMPORAL_UI_PORT=str(self.ui_port),
            PMARB_API_PORT=str(self.api_port),
        )

    def pmarb(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pmarb", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    @contextmanager
    def up(self) -> Iterator[subprocess.Popen[str]]:
        log = (self.data_dir.parent / "up-test.log").open("a")
        process = subprocess.Popen(
            [sys.executable, "-m", "pmarb", "up"], env=self.env, stdout=log, stderr=log, text=True
        )
        try:
            self.wait_healthy(process)
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()

    def wait_healthy(self, process: subprocess.Popen[str], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"pmarb up exited early:\n{self.log_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.api_port}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"pmarb up never became healthy:\n{self.log_text()}")

    def log_text(self) -> str:
        return (self.data_dir.parent / "up-test.log").read_text()

    def database_url(self) -> str:
        runtime = json.loads((self.data_dir / "runtime.json").read_text())
        url: str = runtime["database_url"]
        return url


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def assert_all_gone(processes: list[psutil.Process], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return
        time.sleep(0.2)
    raise AssertionError(f"left behind: {[(p.pid, p.name()) for p in alive]}")


@pytest.fixture
def stack() -> Stack:
    return Stack(public_tempdir("pmarb-stack-") / "data")


def test_up_serves_persists_across_restart_and_leaves_no_process(stack: Stack) -> None:
    with stack.up() as first:
        children = descendants(first.pid)
        names = {p.name() for p in children}
        assert "temporal" in names and "postgres" in names, names
        ui = httpx.get(f"http://127.0.0.1:{stack.ui_port}/")
        assert ui.status_code == 200

        status = stack.pmarb("status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        report = json.loads(status.stdout)
        assert report["temporal"]["ok"] and report["database"]["ok"]
        assert report["halted"] is False
        assert report["temporal"]["worker"]["ok"]

        halted = stack.pmarb("halt", "--reason", "stack test")
        assert halted.returncode == 0 and "risk guardian confirmed" in halted.stdout, (
            halted.stdout + halted.stderr
        )
        assert json.loads(stack.pmarb("status", "--json").stdout)["halted"] is True
        resumed = stack.pmarb("resume", "--reason", "done")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        assert json.loads(stack.pmarb("status", "--json").stdout)["halted"] is False

        second = stack.pmarb("up", timeout=30)
        assert second.returncode == 1 and "already running" in second.stderr

        with psycopg.connect(stack.database_url(), autocommit=True) as conn:
            conn.execute(
                "insert into alerts (tier, title, body) values ('routine', 'persist-check', 'x')"
            )

        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=90) == 0
        assert_all_gone(children)
    assert not (stack.data_dir / "runtime.json").exists()

    with stack.up() as again:
        children = descendants(again.pid)
        with psycopg.connect(stack.database_url()) as conn:
            row = conn.execute("select body from alerts where title = 'persist-check'").fetchone()
        assert row == ("x",)
        listed = stack.pmarb("status", "--json")
        assert json.loads(listed.stdout)["database"]["migrations_current"]
        # Temporal state persisted too: the first run's system check is still in history.
        history = subprocess.run(
            [
                str(Path(sys.executable).parent / "temporal"),
                "workflow",
                "count",
                "--address",
                json.loads((stack.data_dir / "runtime.json").read_text())["temporal_address"],
                "--query",
                "WorkflowType='SystemCheckWorkflow'",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        # The first run's three `pmarb status` calls each ran one; the second run's one more.
        total = int(history.stdout.split("Total:")[1].split()[0])
        assert total == 4, history.stdout + history.stderr

        # Killed without a chance to clean up: the children must still go.
        again.kill()
        again.wait()
        assert_all_gone(children)


def test_status_without_a_running_system_says_how_to_start_it(stack: Stack) -> None:
    result = stack.pmarb("status", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["temporal"]["ok"] is False and report["database"]["ok"] is False
    assert "pmarb up" in report["database"]["error"]
