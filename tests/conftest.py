"""Real services for the tests: PostgreSQL (``DATABASE_URL`` or embedded) and Temporal (the dev
server and the time-skipping server from the installed wheels; nothing is downloaded)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from pmarb.infra.binaries import temporal_cli, temporal_test_server
from pmarb.infra.temporal import dynamic_config_args
from pmarb.store import migrate
from pmarb.store.db import connect
from pmarb.workers.converter import data_converter
from pmarb.workflows import search_attributes
from tests.support import embedded_postgres

TEMPLATE_DATABASE = f"pmarb_template_{os.getpid()}"


def _with_database(url: str, database: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A superuser URL on a real server: ``DATABASE_URL`` if set, else an embedded one."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield external
        return
    with embedded_postgres() as server:
        yield server.url("postgres")


@pytest.fixture(scope="session")
async def migrated_template(postgres_admin_url: str) -> AsyncIterator[str]:
    """A database with every migration applied, cloned for each test that needs one."""
    async with await psycopg.AsyncConnection.connect(postgres_admin_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL("drop database if exists {}").format(sql.Identifier(TEMPLATE_DATABASE))
        )
        await admin.execute(sql.SQL("create database {}").format(sql.Identifier(TEMPLATE_DATABASE)))
    template_url = _with_database(postgres_admin_url, TEMPLATE_DATABASE)
    async with await connect(template_url) as conn:
        await migrate.migrate(conn)
        await conn.commit()
    yield TEMPLATE_DATABASE
    async with await psycopg.AsyncConnection.connect(postgres_admin_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(TEMPLATE_DATABASE)
            )
        )


@pytest.fixture
async def database_url(postgres_admin_url: str, migrated_template: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    name = f"pmarb_test_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(postgres_admin_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL("create database {} template {}").format(
                sql.Identifier(name), sql.Identifier(migrated_template)
            )
        )
    yield _with_database(postgres_admin_url, name)
    async with await psycopg.AsyncConnection.connect(postgres_admin_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[dict[str, Any]]]:
    async with await connect(database_url) as conn:
        yield conn


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server with pmarb's search attributes and eager start on."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_cli()),
        search_attributes=list(search_attributes.ALL),
        data_converter=data_converter,
        # A short history limit, so continue-as-new is exercised within a test.
        dev_server_extra_args=dynamic_config_args("limit.historyCount.suggestContinueAsNew=50"),
    )
    yield env
    await env.shutdown()


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Java time-skipping test server. Time is global to it: tests using it run serially."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal_test_server()),
        data_converter=data_converter,
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:10]}"
