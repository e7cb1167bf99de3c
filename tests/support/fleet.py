"""Several processes' worth of database engines on one database, for what the fleet shares."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.alerts import DatabaseAlertLedger
from mediabot.db.engine import create_engine, create_session_factory
from mediabot.db.migrate import upgrade


@contextlib.asynccontextmanager
async def fleet_engines(
    make_database: Callable[[], str], processes: int
) -> AsyncIterator[list[AsyncEngine]]:
    """A new database from `make_database` (`make_pg_database`), migrated, and one engine on
    it per process; disposed after."""
    url = await asyncio.to_thread(make_database)  # it runs an event loop of its own
    engines = [create_engine(url) for _ in range(processes)]
    try:
        await upgrade(engines[0])
        yield engines
    finally:
        for engine in engines:
            await engine.dispose()


async def age_admin_alerts(engine: AsyncEngine, seconds: float) -> None:
    """Make the last warning of every kind `seconds` older (the ledger's clock is the
    database's, so a test moves the stored time instead)."""
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE admin_alerts SET sent_at = sent_at - :s"), {"s": seconds}
        )


def alert_ledger(engine: AsyncEngine) -> DatabaseAlertLedger:
    """The admins' warnings ledger of the process that `engine` stands for."""
    return DatabaseAlertLedger(create_session_factory(engine))
