"""Plain SQL migrations applied in order and recorded in ``schema_migrations``.

Files are ``NNNN_name.sql`` in ``pmarb/store/migrations``. They apply in one transaction under
an advisory lock, so two processes starting together cannot both apply one. An applied file
whose text later changes is an error, not a silent skip.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

import psycopg
from psycopg.rows import tuple_row

_FILENAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x706D617262  # "pmarb"


class MigrationError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    applied: tuple[int, ...]
    pending: tuple[int, ...]

    @property
    def current(self) -> bool:
        return not self.pending


def discover() -> list[Migration]:
    folder = resources.files("pmarb.store").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILENAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), match.group(2), entry.read_text()))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version number: {versions}")
    return found


async def _applied(conn: psycopg.AsyncConnection[Any]) -> dict[int, str]:
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute("select to_regclass('schema_migrations') is not null")
    exists = await cursor.fetchone()
    if exists is None or not exists[0]:
        return {}
    await cursor.execute("select version, checksum from schema_migrations")
    return {int(version): str(checksum) for version, checksum in await cursor.fetchall()}


def _check_checksums(applied: dict[int, str], known: list[Migration]) -> None:
    by_version = {migration.version: migration for migration in known}
    for version, checksum in applied.items():
        migration = by_version.get(version)
        if migration is not None and migration.checksum != checksum:
            raise MigrationError(
                f"migration {version:04d}_{migration.name}.sql changed after it was applied; "
                "add a new migration instead of editing an applied one"
            )


async def status(conn: psycopg.AsyncConnection[Any]) -> MigrationStatus:
    known = discover()
    applied = await _applied(conn)
    _check_checksums(applied, known)
    return MigrationStatus(
        applied=tuple(sorted(applied)),
        pending=tuple(m.version for m in known if m.version not in applied),
    )


async def migrate(conn: psycopg.AsyncConnection[Any]) -> list[Migration]:
    """Apply every pending migration; return the ones applied (empty when already current)."""
    known = discover()
    done: list[Migration] = []
    async with conn.transaction():
        await conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        await conn.execute(
            """
            create table if not exists schema_migrations (
                version integer primary key,
                name text not null,
                checksum text not null,
                applied_at timestamptz not null default now()
            )
            """
        )
        applied = await _applied(conn)
        _check_checksums(applied, known)
        for migration in known:
            if migration.version in applied:
                continue
            await conn.execute(migration.sql.encode())
            await conn.execute(
                "insert into schema_migrations (version, name, checksum) values (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            done.append(migration)
    return done
