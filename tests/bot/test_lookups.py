"""Lookups of one link asked at once, or again within a while, share one answer; a
failure is shared only with those already waiting; a caller giving up stops no one."""

from __future__ import annotations

import asyncio

import pytest

from mediabot.bot.lookups import SharedLookups
from mediabot.domain.enums import Provider
from mediabot.domain.media import MediaOptions, Resolution


class _Source:
    """A lookup that counts its calls and answers when told to."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.failure: Exception | None = None

    async def __call__(self, url: str) -> MediaOptions:
        self.calls.append(url)
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return MediaOptions(
            url=url,
            provider=Provider.GENERIC,
            media_key=f"generic:{url}",
            title=url,
            resolutions=(Resolution(360),),
        )


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_link_asked_at_once_and_again_soon_is_looked_up_once() -> None:
    source, clock = _Source(), _Clock()
    lookups = SharedLookups(source, recent_s=60, clock=clock)
    waiting = [asyncio.create_task(lookups("https://a.example/v")) for _ in range(50)]
    other = asyncio.create_task(lookups("https://b.example/v"))
    await asyncio.sleep(0)
    source.release.set()
    answers = await asyncio.gather(*waiting, other)
    assert source.calls == ["https://a.example/v", "https://b.example/v"]
    assert {answer.title for answer in answers[:50]} == {"https://a.example/v"}

    clock.now = 59.0
    assert (await lookups("https://a.example/v")).title == "https://a.example/v"
    assert len(source.calls) == 2
    clock.now = 61.0  # no longer recent: asked again
    await lookups("https://a.example/v")
    assert len(source.calls) == 3


async def test_a_failure_is_shared_with_those_waiting_and_not_kept() -> None:
    source = _Source()
    source.failure = RuntimeError("dead link")
    lookups = SharedLookups(source)
    waiting = [asyncio.create_task(lookups("https://a.example/v")) for _ in range(3)]
    await asyncio.sleep(0)
    source.release.set()
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert len(source.calls) == 1
    source.failure = None
    assert (await lookups("https://a.example/v")).title == "https://a.example/v"
    assert len(source.calls) == 2


async def test_a_caller_that_gives_up_leaves_the_lookup_to_the_others() -> None:
    source = _Source()
    lookups = SharedLookups(source)
    impatient = asyncio.create_task(lookups("https://a.example/v"))
    patient = asyncio.create_task(lookups("https://a.example/v"))
    await asyncio.sleep(0)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    source.release.set()
    assert (await patient).title == "https://a.example/v"
    assert len(source.calls) == 1


async def test_only_the_most_recent_answers_are_kept() -> None:
    source = _Source()
    source.release.set()
    lookups = SharedLookups(source, most=2)
    for name in ("a", "b", "c"):
        await lookups(f"https://{name}.example/v")
    await lookups("https://c.example/v")
    await lookups("https://a.example/v")  # the oldest was let go
    assert source.calls == [f"https://{n}.example/v" for n in ("a", "b", "c", "a")]
