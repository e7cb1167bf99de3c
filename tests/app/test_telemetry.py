"""The queue-depth gauge keeps its watch through a database outage."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot import metrics
from mediabot.app.telemetry import watch_queue_depth
from mediabot.db.engine import create_engine
from mediabot.db.migrate import upgrade


async def test_the_queue_depth_is_read_again_after_the_database_was_away(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'depth.db'}")
    await upgrade(engine)
    sessions = async_sessionmaker(engine)
    opened: list[int] = []

    def away_twice() -> AsyncSession:
        opened.append(1)
        if len(opened) <= 2:  # connecting to a stopped server fails with a bare OSError
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
        return sessions()

    metrics.QUEUE_DEPTH.set(-1)
    watch = asyncio.create_task(watch_queue_depth(away_twice, every_s=0.01))  # type: ignore[arg-type]
    try:
        async with asyncio.timeout(10):
            while metrics.QUEUE_DEPTH._value.get() != 0:
                assert not watch.done(), watch
                await asyncio.sleep(0.01)
    finally:
        watch.cancel()
        await asyncio.gather(watch, return_exceptions=True)
        await engine.dispose()
    assert len(opened) >= 3
