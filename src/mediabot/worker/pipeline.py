"""One job, end to end, as a sequence of the steps in `worker.steps`.

The database decides who works on a request: a worker first takes a lease on it
(`steps.claim`), and renews it while it works (`steps.watch`). A job delivered twice by the
queue, or a job whose worker died, is therefore never worked on by two workers at once, and
an interrupted delivery resumes after the last part recorded (`steps.record`). A user's
requests beyond their share are not claimed: their jobs go back to the queue for a short
while (no attempt used), so one user's slow sources never hold every slot.

Jobs come in two lanes (`worker.lanes`), twins share one fetch (`worker.twins`), a full
disk or a flooded chat hands a job back (`worker.hand_backs`), and every way a delivery
ends is settled in `worker.outcomes`. The ports' adapters are wired in `app/`.

The database going away for a while (a restart, a failover) only pauses a job: each of its
database calls waits for it (`worker.adapters`). One that waits longer than that bound
brings the job back after the defer delay, no attempt used: an outage is nobody's failure,
and never sends a request to the dead letters.

Every ending leaves nothing in the request's work folder (`steps.clean_up`), and nothing
edits its status message after its final text.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiogram import Bot

from mediabot.db.outages import database_unavailable
from mediabot.domain.clips import clip_of_media_key
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job
from mediabot.i18n import speaking, use_locale
from mediabot.queue.base import DeferJobError, RetryJobError
from mediabot.telegram.alerts import AdminAlerts
from mediabot.worker import texts
from mediabot.worker.hand_backs import (
    FLOOD_HAND_BACK_S,
    hand_back_while_chat_held,
    hand_back_while_disk_full,
)
from mediabot.worker.lanes import Lane, LaneChangeError, Lanes, Publish
from mediabot.worker.outcomes import admins_warned_by, deliver_to_an_outcome
from mediabot.worker.ports import Ports
from mediabot.worker.request import Request
from mediabot.worker.steps.claim import claim
from mediabot.worker.steps.clean_up import clean_up
from mediabot.worker.steps.clip_and_send import clip_and_send
from mediabot.worker.steps.context import JobContext, LeftOurHandsError
from mediabot.worker.steps.fetch_and_send import Fetching, fetch_and_send
from mediabot.worker.steps.give_up import give_up
from mediabot.worker.steps.inline_place import inline_place
from mediabot.worker.steps.playlist_item import settle_height
from mediabot.worker.steps.resend_from_cache import resend_from_cache
from mediabot.worker.steps.watch import watch
from mediabot.worker.twins import CachedLaneTwins, served_by_a_twin

__all__ = ["Pipeline", "PipelineParts"]

logger = logging.getLogger(__name__)

WATCH_EVERY_S = 3.0
CACHED_TWIN_WAIT_S = 15.0
"""How long a cached-lane slot waits for a twin's fetch; then the job comes back after the
queue's defer delay (no attempt used), so long downloads do not fill the cached lane."""


@dataclass(frozen=True, slots=True)
class PipelineParts:
    """What a pipeline works with besides its ports, built once per worker process."""

    bot: Bot
    work_dir: Path
    upload_limit_bytes: int
    lease: timedelta = timedelta(minutes=2)
    """How long a claim lasts without renewal: the lease is renewed well within it."""
    min_free_disk_bytes: int = 0
    """Jobs wait (deferred, no attempt used) while the work folder has less free space."""
    free_disk_bytes: Callable[[Path], int] = lambda path: shutil.disk_usage(path).free
    """The free-space probe of the work folder's disk (a fake in tests)."""
    admin_alerts: AdminAlerts | None = None
    """Where a site's refusal of the bot is reported to the admins (None: not reported)."""
    flood_hand_back_s: float = FLOOD_HAND_BACK_S
    """A flood wait longer than this is not sat out in the job's slot (`worker.hand_backs`)."""
    hand_over: Publish | None = None
    """Publishes to the main lane (`worker.lanes.Lanes.hand_over`)."""
    to_cached_lane: Publish | None = None
    """Publishes to the cached lane (`worker.lanes.Lanes.to_cached_lane`)."""
    cached_twin_wait_s: float = CACHED_TWIN_WAIT_S
    cached_twin_waits: int = 2
    """Cached-lane slots that may wait for a twin's fetch at once, in this worker."""


class Pipeline:
    """Runs jobs: `handle` and `handle_cached` for the two lanes, `on_dead_letter` gives up."""

    def __init__(self, parts: PipelineParts, ports: Ports) -> None:
        self._parts = parts
        self._ports = ports
        self._fetching = Fetching(
            ports.downloaders, ports.senders, parts.work_dir, parts.upload_limit_bytes
        )
        self._lanes = Lanes(parts.hand_over, parts.to_cached_lane)
        self._cached_lane_twins = CachedLaneTwins(parts.cached_twin_waits, parts.cached_twin_wait_s)

    async def handle(self, job: Job) -> None:
        """Work on one job; returns when its outcome is recorded, raises to ask for a retry.

        Raises `DeferJobError` when the user already has their share of requests running.
        """
        await self._serve(job, cached_lane=False)

    async def handle_cached(self, job: Job) -> None:
        """Work on a job of the cached lane: sent from the cache, or handed over to the main
        lane (see `worker.lanes`); otherwise as `handle`."""
        await self._serve(job, cached_lane=self._parts.hand_over is not None)

    async def on_dead_letter(self, job: Job, reason: str) -> None:
        """A job that ran out of attempts: record the failure and tell the user."""
        logger.error("job %s: given up after %s attempts: %s", job.request_id, job.attempt, reason)
        clean_up(self._parts.work_dir, job.request_id)
        await give_up(self._ports.requests, self._ports.statuses, job.request_id, reason)

    async def _serve(self, job: Job, *, cached_lane: bool) -> None:
        """Claim and work; the database away past its bound brings the job back later."""
        try:
            await self._claim_and_work(job, cached_lane=cached_lane)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            logger.warning("job %s: the database is still away; back later", job.request_id)
            raise DeferJobError("the database is unavailable") from exc

    async def _claim_and_work(self, job: Job, *, cached_lane: bool) -> None:
        ports, parts = self._ports, self._parts
        # The cached lane takes its own request only: a fair turn could be a download.
        request = await claim(ports.requests, job.request_id, fair=not cached_lane)
        if request is None:
            if cached_lane:
                # Held or done: if a main-lane job took it as the fairer turn, the request
                # that job was published for now waits for a job, and this one is it.
                await self._lanes.publish(job, Lane.MAIN)
            return
        if request.id != job.request_id:
            # Fair turns: this job's request waits for a later job; this one carries on
            # as the request it took (its retries and dead letter are that request's).
            logger.info("job %s: took request %s, the fairer turn", job.request_id, request.id)
            job = Job(request.id, attempt=request.attempts)
        if not cached_lane:  # the cache needs no disk
            await hand_back_while_disk_full(
                ports, request, parts.work_dir, parts.min_free_disk_bytes, parts.free_disk_bytes
            )
        await hand_back_while_chat_held(ports, request, parts.flood_hand_back_s)
        try:
            await self._work_under_lease(job, request, cached_lane)
        except RetryJobError as exc:
            exc.job = exc.job or job
            raise

    async def _work_under_lease(self, job: Job, request: Request, cached_lane: bool) -> None:
        """The delivery as a task beside the lease's watcher: a cancel or a lost lease ends
        it, a stopping worker hands the request back, a lane change publishes the job."""
        requests = self._ports.requests
        logger.info("job %s: started (attempt %s)", request.id, job.attempt)
        # Whatever an earlier attempt (or a killed worker) left here is of no use now.
        clean_up(self._parts.work_dir, request.id)
        context = JobContext(request, requests, self._ports.statuses.open(request, buttons=True))
        delivery = deliver_to_an_outcome(
            context,
            lambda: self._send_cached_or_fetch(context, cached_lane),
            flood_hand_back_s=self._parts.flood_hand_back_s,
            warn_admins=admins_warned_by(self._parts.admin_alerts, self._parts.bot),
        )
        work = asyncio.create_task(speaking(request.locale, delivery))
        # Often enough to renew in time and to notice a cancel within seconds.
        every_s = min(self._parts.lease.total_seconds() / 4, WATCH_EVERY_S)
        watcher = asyncio.create_task(watch(context, work, every_s))
        changed: LaneChangeError | None = None
        try:
            await work
        except LaneChangeError as exc:
            changed = exc
        except LeftOurHandsError:
            await self._show_cancelled(context)
        except asyncio.CancelledError:
            if not (watcher.done() and watcher.result()):
                # This worker is stopping: hand the request back for another worker.
                await asyncio.shield(requests.release(request.id, expire=True))
                raise
            await self._show_cancelled(context)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            await asyncio.shield(context.status.close())
            clean_up(self._parts.work_dir, request.id)
        if changed is not None:
            # Only now: the other lane may take it the moment the lease is gone, and its
            # status and work folder must be its own by then.
            await requests.release(request.id, refund=True, requeue=True)
            logger.info("job %s: %s; %s", request.id, changed.why, changed.lane.value)
            await self._lanes.publish(job, changed.lane)

    async def _send_cached_or_fetch(self, job: JobContext, cached_lane: bool) -> None:
        """The cache first, then (after any twin's fetch) the cache again, then a fetch (a
        clip's request: the clip cut); in the cached lane, the cache or the main lane."""
        request, senders = job.request, self._ports.senders
        job.inline = await inline_place(self._parts.bot, request)
        target = job.target(request.title or "")

        async def resend() -> bool:
            return await resend_from_cache(job, senders, target)

        if not request.delivered_parts and await resend():
            return
        if cached_lane:
            await self._cached_lane_twins.wait(job, resend)
            return
        if (
            await settle_height(job, self._ports.downloaders)
            and not request.delivered_parts
            and await resend()
        ):
            return
        await job.move(RequestState.DOWNLOADING)
        cached_lane_waits = self._lanes.to_cached_lane is not None
        if await served_by_a_twin(job, resend, cached_lane_waits=cached_lane_waits):
            return
        _, clip = clip_of_media_key(request.media_key)
        if clip is not None:
            await clip_and_send(job, self._fetching, clip)
        else:
            await fetch_and_send(job, self._fetching)

    async def _show_cancelled(self, job: JobContext) -> None:
        if await job.requests.state_of(job.request.id) is RequestState.CANCELLED:
            logger.info("job %s: cancelled by the user", job.request.id)
            with use_locale(job.request.locale):
                text = texts.cancelled()
            await job.status.finish(text)
