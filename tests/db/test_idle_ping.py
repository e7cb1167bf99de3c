"""Pooled PostgreSQL connections: one the server closed is replaced at checkout, with no
ping spent on connections in use."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db import engine as db_engine
from mediabot.db.engine import create_engine
from tests.support.services import PG_ADMIN_DSN

WAIT_S = 10.0


async def test_a_connection_the_server_closed_is_replaced_without_a_failure(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as connection:
            backend = await connection.scalar(text("SELECT pg_backend_pid()"))
            driver = (await connection.get_raw_connection()).driver_connection
        closed = asyncio.Event()
        driver.add_termination_listener(lambda _connection: closed.set())
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", backend)
        finally:
            await admin.close()
        async with asyncio.timeout(WAIT_S):  # the pool's connection reads the server's goodbye
            await closed.wait()
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT pg_backend_pid()")) != backend
    finally:
        await engine.dispose()


def _count_pings(engine: AsyncEngine) -> list[object]:
    dialect = engine.sync_engine.dialect
    pinged: list[object] = []
    ping = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pinged.append(dbapi_connection)
        return ping(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    return pinged


async def test_a_connection_just_used_is_handed_out_without_a_ping(pg_url: str) -> None:
    engine = create_engine(pg_url)
    pinged = _count_pings(engine)
    try:
        for _ in range(3):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        assert pinged == []
    finally:
        await engine.dispose()


async def test_a_connection_idle_for_a_while_is_pinged_first(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(pg_url)
    pinged = _count_pings(engine)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        monkeypatch.setattr(db_engine, "PING_AFTER_IDLE_S", 0.0)
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
        assert len(pinged) == 1
    finally:
        await engine.dispose()
