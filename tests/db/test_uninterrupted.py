"""A database unit cancelled mid-statement: with `uninterrupted` the task ends at once and
the connection goes back to the pool. Without it, on SQLite, a cancel was lost within the
first ten or so (the task hung until cancelled again, holding the one connection), and the
aiosqlite thread it left kept the test process from exiting: hence no test of that here."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.engine import create_session_factory, uninterrupted

CANCELS = 150


async def _cancel_units_at_random(
    engine: AsyncEngine, wrap: Callable[[Coroutine[Any, Any, None]], Any]
) -> int:
    """Cancel a loop of units at random moments; returns how many cancels ended the task
    within 2 s with the database still usable."""
    sessions = create_session_factory(engine)

    async def unit() -> None:
        async with sessions() as session:
            await session.execute(text("UPDATE providers SET name = name"))
            await session.execute(text("SELECT count(*) FROM files"))
            await session.commit()

    async def loop() -> None:
        while True:
            await wrap(unit())

    rng = random.Random(7)
    for done in range(CANCELS):
        task = asyncio.create_task(loop())
        await asyncio.sleep(rng.random() * 0.005)
        task.cancel()
        finished, _ = await asyncio.wait({task}, timeout=2)
        if not finished:
            task.cancel()  # a second cancel ends it; the first was lost
            await asyncio.wait({task})
            return done
        async with asyncio.timeout(2), sessions() as session:
            await session.execute(text("SELECT 1"))
    return CANCELS


async def test_a_cancelled_unit_finishes_and_frees_the_connection(engine: AsyncEngine) -> None:
    assert await _cancel_units_at_random(engine, uninterrupted) == CANCELS
