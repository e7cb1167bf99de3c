"""The queue-depth gauge keeps its watch through a database outage; lookups are timed by
outcome, and answers shared between askers are counted."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot import metrics
from mediabot.app.telemetry import timed_lookup, watch_queue_depth
from mediabot.bot.lookups import SharedLookups
from mediabot.db.engine import create_engine
from mediabot.db.migrate import upgrade
from mediabot.downloaders.errors import (
    NotFoundError,
    PlaylistLinkError,
    StalledError,
    YouTubeBotCheckError,
)
from tests.bot.test_lookups import _Source


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


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (None, "found"),
        (PlaylistLinkError("a playlist"), "playlist"),
        (NotFoundError("gone"), "refused"),
        (YouTubeBotCheckError("sign in"), "pushed_back"),
        (StalledError("slow"), "timeout"),
        (RuntimeError("a bug"), "failed"),
    ],
)
async def test_each_lookup_is_timed_under_its_outcome(
    failure: Exception | None, outcome: str
) -> None:
    async def lookup(url: str) -> str:
        await asyncio.sleep(0.02)
        if failure is not None:
            raise failure
        return url

    count = _sample("mediabot_lookup_seconds_count", outcome=outcome)
    total = _sample("mediabot_lookup_seconds_sum", outcome=outcome)
    timed = timed_lookup(lookup)
    if failure is None:
        assert await timed("https://a.example/v") == "https://a.example/v"
    else:
        with pytest.raises(type(failure)):
            await timed("https://a.example/v")
    assert _sample("mediabot_lookup_seconds_count", outcome=outcome) == count + 1
    assert _sample("mediabot_lookup_seconds_sum", outcome=outcome) - total >= 0.02


async def test_askers_sharing_one_lookup_are_counted_as_shared() -> None:
    source = _Source()
    lookups = SharedLookups(timed_lookup(source))
    shared = _sample("mediabot_lookups_shared_total")
    looked_up = _sample("mediabot_lookup_seconds_count", outcome="found")
    waiting = [asyncio.create_task(lookups("https://viral.example/v")) for _ in range(20)]
    await asyncio.sleep(0)
    source.release.set()
    await asyncio.gather(*waiting)
    await lookups("https://viral.example/v")  # recent: given again
    assert source.calls == ["https://viral.example/v"]
    assert _sample("mediabot_lookup_seconds_count", outcome="found") == looked_up + 1
    assert _sample("mediabot_lookups_shared_total") == shared + 20
