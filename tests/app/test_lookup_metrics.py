"""Each lookup is timed under its outcome; answers shared between askers are counted."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from mediabot.app.lookup_metrics import timed_lookup
from mediabot.bot.lookups import SharedLookups
from mediabot.downloaders.errors import (
    NotFoundError,
    PlaylistLinkError,
    StalledError,
    YouTubeBotCheckError,
)
from tests.bot.test_lookups import _Source


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
