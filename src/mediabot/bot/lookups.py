"""Lookups of one link share one answer: asked at once, or again within a minute.

A link shared widely (a video everyone forwards) arrives from many users within seconds.
Each lookup runs yt-dlp (and sometimes ffprobe) for a few hundred milliseconds of CPU; two
hundred of them at once starve the bot's event loop, and every answer waits. The answers
are the same, so the bot asks once: later askers wait for the lookup on its way, or take
its answer while it is recent. Failures are shared only with those already waiting: the
next asker tries again (a dead link may come back, a timeout may pass).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable

from mediabot import metrics
from mediabot.bot.handlers.links import Lookup
from mediabot.domain.media import MediaOptions

RECENT_S = 60.0
"""How long an answer is given again without a lookup: far shorter than the life of the
signed media addresses it may hold, and the offer is looked up again at download anyway."""
RECENT_MOST = 1024
"""Answers kept at most (the oldest go first)."""


class SharedLookups:
    """A `Lookup` whose concurrent and recent calls for one link share one answer."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        recent_s: float = RECENT_S,
        most: int = RECENT_MOST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._recent_s = recent_s
        self._most = most
        self._clock = clock
        self._running: dict[str, asyncio.Task[MediaOptions]] = {}
        self._recent: OrderedDict[str, tuple[float, MediaOptions]] = OrderedDict()

    async def __call__(self, url: str) -> MediaOptions:
        kept = self._recent.get(url)
        if kept is not None and self._clock() - kept[0] < self._recent_s:
            metrics.LOOKUPS_SHARED.inc()
            return kept[1]
        task = self._running.get(url)
        if task is None:
            task = asyncio.create_task(self._look_up(url), name=f"lookup {url[:80]}")
            task.add_done_callback(_retrieve)
            self._running[url] = task
        else:
            metrics.LOOKUPS_SHARED.inc()
        # A caller that gives up (its own timeout) leaves the lookup to the others.
        return await asyncio.shield(task)

    async def _look_up(self, url: str) -> MediaOptions:
        try:
            options = await self._lookup(url)
        finally:
            self._running.pop(url, None)
        self._recent[url] = (self._clock(), options)
        self._recent.move_to_end(url)
        while len(self._recent) > self._most:
            self._recent.popitem(last=False)
        return options


def _retrieve(task: asyncio.Task[MediaOptions]) -> None:
    """Mark a failed lookup's exception as seen: every caller may have given up on it."""
    if not task.cancelled():
        task.exception()
