"""Engines and session factories, built once at start-up and disposed at shutdown."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pydantic_core
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Foreign keys are off by default in SQLite; WAL lets the bot read while a worker writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _to_json(value: Any) -> str:
    return pydantic_core.to_json(value).decode()


_JSON_CODEC: dict[str, Any] = {
    "json_serializer": _to_json,
    "json_deserializer": pydantic_core.from_json,
}
"""JSON columns written and read by pydantic's codec: the standard library's, in Python, took
a fifth of a worker's CPU on a long manifest's lookup (its info is a megabyte of JSON,
written to the shared answer and to the offer); this one is four times faster writing and
twice reading. What it writes reads back the same; unlike `json.dumps`, it also writes
dates, UUIDs and enums, which nothing stores raw."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for a `postgresql+asyncpg://` or `sqlite+aiosqlite://` URL.

    The folder of an SQLite file is created when missing.
    """
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # SQLite has one writer: writers queue for the one connection in asyncio, in order,
        # instead of starving in SQLite's busy handler.
        engine = create_async_engine(
            url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=300, **_JSON_CODEC
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, **_JSON_CODEC)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_S = 5.0
"""A pooled connection idle this long is pinged before it is handed out."""


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling that costs nothing to connections in use.

    `pool_pre_ping` pings every checkout, and asyncpg's ping is three round trips (BEGIN,
    a statement, ROLLBACK): most of what a busy process asked of the database. Here a
    connection the server closed (a restart, an administrator's command: asyncpg has
    read the server's goodbye) is replaced without a round trip, and only one idle for
    `PING_AFTER_IDLE_S` is pinged first, which is what finds a connection cut silently
    (a failover, a network that dropped it). A connection that failed since it was last
    handed out is found at its first statement, as any other outage is.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    def checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        driver = record.driver_connection
        if driver is not None and driver.is_closed():
            raise DisconnectionError("the server closed the connection")
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # just made, or just used
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"the ping failed: {exc}") from exc

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)


_IDLE_SINCE = "mediabot_idle_since"


_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """`engine` whose connections run each statement as a transaction of its own: one
    round trip, no BEGIN and COMMIT around it. Made once per engine (making one costs
    about a tenth of a millisecond)."""
    found = _AUTOCOMMIT.get(engine)
    if found is None:
        found = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def uninterrupted(unit: Coroutine[Any, Any, T]) -> T:
    """Run a database unit (open a session, a few statements, commit) to its end even when
    the caller is cancelled meanwhile; the cancel is raised once the unit is over.

    A cancel that lands inside an aiosqlite statement can leave the task hanging with the
    connection checked out (found by cancelling a session mid-statement: the task ended only
    when cancelled a second time). With SQLite's single pooled connection that stalls every
    other database user of the process. Use it where a task is cancelled on purpose while it
    may be talking to the database (the lease watcher at the end of every job).
    """
    task = asyncio.ensure_future(unit)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            try:
                await asyncio.wait({task})
            except asyncio.CancelledError:
                continue
        raise
