"""Twins: requests for media another worker is fetching, served by that one fetch.

A link a hundred users press at once holds one download slot, not every one. In the main
lane a request whose twin is being fetched passes to the cached lane to wait for it
(`Lane.CACHED`), or, without a cached lane, waits in its own slot (`steps.wait_for_twin`).
Passed, a request is back in the queued state, so that only real fetches count as twins.
At most `CachedLaneTwins.waits` such waits hold cached slots at once (the others come back
after the defer delay), each for `wait_s` at most, so a popular long download does not fill
the lane that cached files count on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from mediabot.worker import texts
from mediabot.worker.lanes import Lane, LaneChangeError
from mediabot.worker.steps.context import JobContext
from mediabot.worker.steps.wait_for_twin import wait_for_twin

Resend = Callable[[], Awaitable[bool]]
"""Another look at the cache: True when it delivered the request."""


async def served_by_a_twin(job: JobContext, resend: Resend, *, cached_lane_waits: bool) -> bool:
    """In the main lane, before a fetch: True when a twin's fetch delivered the request.

    With a cached lane to wait in (`cached_lane_waits`), a twin being fetched passes the
    job there (`LaneChangeError`); one that finished since the first look is in the cache.
    Without one, the job waits for the twin here. A delivery to resume waits for no twin.
    """
    request = job.request
    if cached_lane_waits and not request.delivered_parts:
        if await job.requests.being_fetched(request.id):
            raise LaneChangeError(Lane.CACHED, "a twin is being fetched")
        if not job.cache_went_stale and await resend():
            return True
    job.status.show(texts.downloading())
    return (
        not cached_lane_waits
        and not request.delivered_parts
        and await wait_for_twin(job)
        and await resend()
    )


class CachedLaneTwins:
    """The cached lane's waits for twins' fetches: `waits` slots at once, `wait_s` each."""

    def __init__(self, waits: int, wait_s: float) -> None:
        self._slots = asyncio.Semaphore(waits)
        self._wait_s = wait_s

    async def wait(self, job: JobContext, resend: Resend) -> None:
        """A cache miss in the cached lane: wait a while for a twin's fetch to fill the cache.

        Returns once the request is delivered; otherwise raises `LaneChangeError`: the main
        lane when there is no twin (or it failed), this lane later when it goes on.
        """
        request = job.request
        if request.delivered_parts:
            raise LaneChangeError(Lane.MAIN, "a delivery to resume")
        if job.cache_went_stale:  # and this request, moved on to uploading, is no twin's fetch
            raise LaneChangeError(Lane.MAIN, "the cached file ids went stale")
        # Unordered: a request waiting here fetches nothing, so it waits for any fetch.
        if not await job.requests.being_fetched(request.id, ordered=False):
            raise LaneChangeError(Lane.MAIN, "not in the cache")
        if self._slots.locked():
            raise LaneChangeError(Lane.LATER, "a twin is being fetched, every waiting slot taken")
        async with self._slots:
            await wait_for_twin(job, wait_s=self._wait_s, ordered=False)
        if await resend():
            return
        if await job.requests.being_fetched(request.id, ordered=False):
            raise LaneChangeError(Lane.LATER, "a twin is still being fetched")
        raise LaneChangeError(Lane.MAIN, "not in the cache after the twin's fetch")
