"""Engines and session factories, built once at start-up and disposed at shutdown."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
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
        engine = create_async_engine(url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=300)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


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
