"""The worker's two lanes, and a job's passage from one to the other.

The main lane's few slots are for downloads; the cached lane's many are for requests the bot
expected to be sent from the cache (Telegram already has the file), so that they never wait
behind downloads. A job of the cached lane that needs more than the cache (its file ids went
stale, it must resume) is handed over to the main lane (`Lanes.hand_over`). A main-lane job
whose media another worker is fetching (a twin) waits for it in the cached lane
(`Lanes.to_cached_lane`, see `worker.twins`), not in a download slot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from mediabot.domain.jobs import Job
from mediabot.queue.base import DeferJobError

logger = logging.getLogger(__name__)

Publish = Callable[[Job], Awaitable[None]]


class Lane(Enum):
    """Where a job goes on; the value is what the log says."""

    MAIN = "on to the main lane"
    CACHED = "on to the cached lane"
    LATER = "back to this lane after the defer delay"


class LaneChangeError(Exception):
    """The job goes on elsewhere: to the other lane, or back to this one later.

    Raised from inside a job's work; the pipeline gives the request's lease back first, then
    publishes the job (`Lanes.publish`).
    """

    def __init__(self, lane: Lane, why: str) -> None:
        super().__init__(why)
        self.lane = lane
        self.why = why


@dataclass(frozen=True, slots=True)
class Lanes:
    """The publishers of the two lanes, as a worker was given them (None: no such lane)."""

    hand_over: Publish | None = None
    """Publishes to the main lane: where a job of the cached lane goes when the cache cannot
    serve it (None: it is worked on where it is)."""
    to_cached_lane: Publish | None = None
    """Publishes to the cached lane: where a main-lane job waits for a twin's fetch (None:
    it waits in its download slot)."""

    async def publish(self, job: Job, lane: Lane) -> None:
        """Publish the job to `lane` (its request's lease already given back), or bring it
        back later. A failed publish brings the job back to this lane after the defer delay,
        no attempt used: the request is not at fault."""
        if lane is Lane.LATER:
            raise DeferJobError("a twin is still being fetched")
        publish = self.hand_over if lane is Lane.MAIN else self.to_cached_lane
        assert publish is not None, "a pipeline passes only to the lanes it was given"
        try:
            await publish(job)
        except Exception as exc:
            logger.warning("job %s: %s failed: %s", job.request_id, lane.value, exc)
            raise DeferJobError(f"{lane.value} failed: {exc}") from exc
