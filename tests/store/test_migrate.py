from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pmarb.store import migrate
from pmarb.store.db import connect

EXPECTED_TABLES = {
    "venues",
    "markets",
    "market_matches",
    "opportunities",
    "trade_requests",
    "orders",
    "fills",
    "positions",
    "trades",
    "strategy_performance",
    "allocations",
    "risk_events",
    "alerts",
    "portfolio_snapshots",
    "risk_state",
    "schema_migrations",
}


@pytest.fixture
async def empty_database(postgres_admin_url: str) -> Any:
    name = f"pmarb_empty_{uuid.uuid4().hex[:10]}"
    async with await psycopg.AsyncConnection.connect(postgres_admin_url, autocommit=True) as admin:
        await admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(postgres_admin_url)
    info["dbname"] = name
    yield psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
    async with await psycopg.AsyncConnection.connect(postgres_admin_url, autocommit=True) as admin:
        await admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )


async def test_migrations_apply_once_and_rerun_is_a_no_op(empty_database: str) -> None:
    async with await connect(empty_database) as conn:
        before = await migrate.status(conn)
        assert not before.current and before.applied == ()
        applied = await migrate.migrate(conn)
        assert [m.version for m in applied] == [m.version for m in migrate.discover()]
        assert await migrate.migrate(conn) == []
        after = await migrate.status(conn)
        assert after.current
        cursor = await conn.execute(
            "select table_name from information_schema.tables where table_schema = 'public'"
        )
        tables = {row["table_name"] for row in await cursor.fetchall()}
    assert tables >= EXPECTED_TABLES


async def test_money_columns_are_numeric(db: psycopg.AsyncConnection[dict[str, Any]]) -> None:
    cursor = await db.execute(
        """
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'public' and column_name in
            ('price', 'size', 'fees', 'fee', 'pnl', 'value', 'cash', 'capital', 'edge', 'cost')
        """
    )
    rows = await cursor.fetchall()
    assert rows, "expected money columns"
    assert {row["data_type"] for row in rows} == {"numeric"}, rows


async def test_editing_an_applied_migration_is_refused(
    db: psycopg.AsyncConnection[dict[str, Any]],
) -> None:
    await db.execute("update schema_migrations set checksum = 'edited' where version = 1")
    with pytest.raises(migrate.MigrationError, match="changed after it was applied"):
        await migrate.status(db)


async def test_client_order_ids_are_unique(db: psycopg.AsyncConnection[dict[str, Any]]) -> None:
    insert = """
        insert into orders (client_order_id, venue, market_id, instrument_id, outcome, side,
                            time_in_force, price, size, status, paper)
        values ('wf:a', 'kalshi', 'M', 'M', 'yes', 'buy', 'fok', 0.4, 10, 'pending', true)
    """
    await db.execute(insert)
    with pytest.raises(psycopg.errors.UniqueViolation):
        await db.execute(insert)
