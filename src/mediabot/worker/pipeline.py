"""One job, end to end, as a sequence of the steps in `worker.steps`.

The database decides who works on a request: a worker first takes a lease on it
(`steps.claim`), and renews it while it works (`steps.watch`). A job delivered twice by the
queue, or a job whose worker died, is therefore never worked on by two workers at once, and
an interrupted delivery resumes after the last part recorded (`steps.record`). A user's
requests beyond `max_running_per_user` are not claimed: their jobs go back to the queue for
a short while (no attempt used), so one user's slow sources never hold every slot.

Jobs come in two lanes. The main lane's few slots are for downloads; the cached lane's many
are for requests the bot expected to be sent from the cache (Telegram already has the file),
so that they never wait behind downloads. A job of the cached lane that needs more than the
cache (its file ids went stale, it must resume) is handed over to the main lane
(`PipelineParts.hand_over`). A main-lane job whose media another worker is fetching (a
twin) waits for it in the cached lane (`PipelineParts.to_cached_lane`), not in a download
slot: a link a hundred users press at once holds one download slot, not every one. Passed,
a request is back in the queued state, so that only real fetches count as twins. At most
`PipelineParts.cached_twin_waits` such waits hold cached slots at once (the others come
back after the defer delay), each for `CACHED_TWIN_WAIT_S` at most, so a popular long
download does not fill the lane that cached files count on.

The database going away for a while (a restart, a failover) only pauses a job: each of its
database calls waits for it (`worker.adapters`). One that waits longer than that bound
brings the job back after the defer delay, no attempt used: an outage is nobody's failure,
and never sends a request to the dead letters.

Every ending leaves nothing in the request's work folder (`steps.clean_up`), and nothing
edits its status message after its final text. Telegram's flood waits are sat out (the
lease renewed, the status saying so), but a long one hands the job back so that other
chats' jobs get its slot (`FLOOD_HAND_BACK_S`); a chat Telegram no longer lets the bot write to is
marked blocked and its pending requests end without a word (`steps.give_up`).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.outages import database_unavailable
from mediabot.domain.enums import RequestState
from mediabot.domain.inline import start_payload
from mediabot.domain.jobs import Job
from mediabot.downloaders.errors import DownloadError, SitePushBackError
from mediabot.downloaders.options import DownloadOptions
from mediabot.i18n import speaking, use_locale
from mediabot.queue.base import DeferJobError, RetryJobError
from mediabot.senders.base import InlinePlace, SendTarget
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.errors import chat_unreachable, describe
from mediabot.telegram.flood import FloodWait, flood_hand_back, flood_observer
from mediabot.telegram.pacing import Pacer
from mediabot.worker import texts
from mediabot.worker.adapters import (
    AiogramSenders,
    AiogramStatuses,
    DatabaseRequests,
    RegistryDownloaders,
)
from mediabot.worker.ports import Ports
from mediabot.worker.request import Request
from mediabot.worker.steps.claim import claim
from mediabot.worker.steps.clean_up import clean_up
from mediabot.worker.steps.context import JobContext, LeftOurHandsError
from mediabot.worker.steps.fetch_and_send import Fetching, fetch_and_send
from mediabot.worker.steps.give_up import end_chat, fail, give_up
from mediabot.worker.steps.playlist_item import settle_height
from mediabot.worker.steps.resend_from_cache import resend_from_cache
from mediabot.worker.steps.wait_for_twin import wait_for_twin
from mediabot.worker.steps.watch import watch

__all__ = ["Pipeline", "PipelineParts"]

logger = logging.getLogger(__name__)

WATCH_EVERY_S = 3.0
CACHED_TWIN_WAIT_S = 15.0
"""How long a cached-lane slot waits for a twin's fetch; then the job comes back after the
queue's defer delay (no attempt used), so long downloads do not fill the cached lane."""
FLOOD_HAND_BACK_S = 30.0
"""Telegram's shorter flood waits are sat out inside the send (the download is not worth
repeating for them); a longer one hands the job back, no attempt used, so one chat's wait
does not hold a slot every other chat's jobs could use. The job returns once the chat may
be written to again: until then it is handed back again, before any work."""


@dataclass(frozen=True, slots=True)
class PipelineParts:
    """What a pipeline works with, built once per worker process."""

    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    pacer: Pacer
    download_options: DownloadOptions
    work_dir: Path
    upload_limit_bytes: int
    owner: str
    status_markup: Callable[[uuid.UUID], InlineKeyboardMarkup | None]
    playlist_markup: Callable[[uuid.UUID], InlineKeyboardMarkup | None] = lambda _: None
    """The ✖ of a playlist (by its id), shown on its status while its items are worked on."""
    lease: timedelta = timedelta(minutes=2)
    """How long a claim lasts without renewal; a dead worker's request waits this long."""
    max_running_per_user: int | None = 1
    """Requests of one user worked on at once across all workers (None: no limit)."""
    min_free_disk_bytes: int = 0
    """Jobs wait (deferred, no attempt used) while the work folder has less free space."""
    free_disk_bytes: Callable[[Path], int] = lambda path: shutil.disk_usage(path).free
    """The free-space probe of the work folder's disk (a fake in tests)."""
    admin_alerts: AdminAlerts | None = None
    """Where a site's refusal of the bot is reported to the admins (None: not reported)."""
    flood_hand_back_s: float = FLOOD_HAND_BACK_S
    """A flood wait longer than this is not sat out in the job's slot (see `FLOOD_HAND_BACK_S`)."""
    hand_over: Callable[[Job], Awaitable[None]] | None = None
    """Publishes to the main lane: where a job of the cached lane goes when the cache cannot
    serve it (None: it is worked on where it is)."""
    to_cached_lane: Callable[[Job], Awaitable[None]] | None = None
    """Publishes to the cached lane: where a main-lane job waits for a twin's fetch (None:
    it waits in its download slot)."""
    cached_twin_wait_s: float = CACHED_TWIN_WAIT_S
    cached_twin_waits: int = 2
    """Cached-lane slots that may wait for a twin's fetch at once, in this worker."""

    def ports(self) -> Ports:
        """The database and aiogram adapters of the steps' ports."""
        requests = DatabaseRequests(
            self.sessions, self.owner, self.lease, self.max_running_per_user
        )
        return Ports(
            requests=requests,
            senders=AiogramSenders(self.bot, self.upload_limit_bytes, self.pacer),
            downloaders=RegistryDownloaders(self.download_options),
            statuses=AiogramStatuses(
                self.bot, self.pacer, self.status_markup, self.playlist_markup, requests
            ),
        )


class _Lane(Enum):
    MAIN = "on to the main lane"
    CACHED = "on to the cached lane"
    LATER = "back to this lane after the defer delay"


class _PassError(Exception):
    """The job goes on elsewhere: to the other lane, or back to this one later."""

    def __init__(self, lane: _Lane, why: str) -> None:
        super().__init__(why)
        self.lane = lane
        self.why = why


class Pipeline:
    """Runs jobs; `handle` and `handle_cached` are the lanes' job handlers, `on_dead_letter`
    their give-up."""

    def __init__(self, parts: PipelineParts, ports: Ports | None = None) -> None:
        self._parts = parts
        self._ports = ports or parts.ports()
        self._fetching = Fetching(
            self._ports.downloaders, self._ports.senders, parts.work_dir, parts.upload_limit_bytes
        )
        self._twin_waits = asyncio.Semaphore(parts.cached_twin_waits)

    async def handle(self, job: Job) -> None:
        """Work on one job; returns when its outcome is recorded, raises to ask for a retry.

        Raises `DeferJobError` when the user already has their share of requests running.
        """
        await self._handle(job, cached_lane=False)

    async def handle_cached(self, job: Job) -> None:
        """Work on a job of the cached lane: sent from the cache, or handed over to the main
        lane (see `PipelineParts.hand_over`); otherwise as `handle`."""
        await self._handle(job, cached_lane=self._parts.hand_over is not None)

    async def _handle(self, job: Job, *, cached_lane: bool) -> None:
        try:
            await self._handle_claimed(job, cached_lane=cached_lane)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            logger.warning("job %s: the database is still away; back later", job.request_id)
            raise DeferJobError("the database is unavailable") from exc

    async def _handle_claimed(self, job: Job, *, cached_lane: bool) -> None:
        requests = self._ports.requests
        # The cached lane takes its own request only: a fair turn could be a download.
        request = await claim(requests, job.request_id, fair=not cached_lane)
        if request is None:
            if cached_lane:
                # Held or done: if a main-lane job took it as the fairer turn, the request
                # that job was published for now waits for a job, and this one is it.
                await self._pass(job, _Lane.MAIN)
            return
        if request.id != job.request_id:
            # Fair turns: this job's request waits for a later job; this one carries on
            # as the request it took (its retries and dead letter are that request's).
            logger.info("job %s: took request %s, the fairer turn", job.request_id, request.id)
            job = Job(request.id, attempt=request.attempts)
        if not cached_lane:  # the cache needs no disk
            await self._wait_for_disk(request)
        await self._wait_for_chat(request)
        try:
            await self._run(job, request, cached_lane)
        except RetryJobError as exc:
            exc.job = exc.job or job
            raise

    async def _wait_for_disk(self, request: Request) -> None:
        """Hand the request back, the status saying why, while the disk is nearly full.

        Raises `DeferJobError`: the job comes back later without using an attempt.
        """
        parts = self._parts
        if not parts.min_free_disk_bytes:
            return
        free = parts.free_disk_bytes(parts.work_dir)
        if free >= parts.min_free_disk_bytes:
            return
        logger.warning("job %s: %d bytes free on disk; waiting for room", request.id, free)
        await self._ports.requests.release(request.id, refund=True)
        with use_locale(request.locale):
            text = texts.waiting_for_disk()
        await self._ports.statuses.open(request).finish(text)
        raise DeferJobError("waiting for free disk space")

    async def _wait_for_chat(self, request: Request) -> None:
        """Hand the request back while Telegram holds its chat back longer than a slot
        should wait (see `FLOOD_HAND_BACK_S`)."""
        held = await self._ports.senders.held_s(request.chat_telegram_id)
        if held <= self._parts.flood_hand_back_s:
            return
        logger.info(
            "job %s: chat %s is held back %.0f s by flood control; handing back",
            request.id,
            request.chat_telegram_id,
            held,
        )
        await self._ports.requests.release(request.id, refund=True)
        raise DeferJobError("the chat is held back by flood control")

    async def _run(self, job: Job, request: Request, cached_lane: bool) -> None:
        requests = self._ports.requests
        logger.info("job %s: started (attempt %s)", request.id, job.attempt)
        # Whatever an earlier attempt (or a killed worker) left here is of no use now.
        clean_up(self._parts.work_dir, request.id)
        context = JobContext(request, requests, self._ports.statuses.open(request, buttons=True))
        work = asyncio.create_task(speaking(request.locale, self._work(context, cached_lane)))
        # Often enough to renew in time and to notice a cancel within seconds.
        every_s = min(self._parts.lease.total_seconds() / 4, WATCH_EVERY_S)
        watcher = asyncio.create_task(watch(context, work, every_s))
        passed: _PassError | None = None
        try:
            await work
        except _PassError as exc:
            passed = exc
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
        if passed is not None:
            # Only now: the other lane may take it the moment the lease is gone, and its
            # status and work folder must be its own by then.
            await requests.release(request.id, refund=True, requeue=True)
            logger.info("job %s: %s; %s", request.id, passed.why, passed.lane.value)
            await self._pass(job, passed.lane)

    async def _pass(self, job: Job, lane: _Lane) -> None:
        """Publish the job to `lane` (its request's lease already given back), or bring it
        back later. A failed publish brings the job back to this lane after the defer delay,
        no attempt used: the request is not at fault."""
        if lane is _Lane.LATER:
            raise DeferJobError("a twin is still being fetched")
        publish = self._parts.hand_over if lane is _Lane.MAIN else self._parts.to_cached_lane
        assert publish is not None, "a pipeline passes only to the lanes it was given"
        try:
            await publish(job)
        except Exception as exc:
            logger.warning("job %s: %s failed: %s", job.request_id, lane.value, exc)
            raise DeferJobError(f"{lane.value} failed: {exc}") from exc

    async def on_dead_letter(self, job: Job, reason: str) -> None:
        """A job that ran out of attempts: record the failure and tell the user."""
        logger.error("job %s: given up after %s attempts: %s", job.request_id, job.attempt, reason)
        clean_up(self._parts.work_dir, job.request_id)
        await give_up(self._ports.requests, self._ports.statuses, job.request_id, reason)

    async def _show_cancelled(self, job: JobContext) -> None:
        if await job.requests.state_of(job.request.id) is RequestState.CANCELLED:
            logger.info("job %s: cancelled by the user", job.request.id)
            with use_locale(job.request.locale):
                text = texts.cancelled()
            await job.status.finish(text)

    async def _work(self, job: JobContext, cached_lane: bool) -> None:
        """Deliver, and settle every failure: a retry, a failure told, or the chat ended."""
        request = job.request
        if request.chat_blocked:
            logger.info("job %s: chat %s is blocked; ending", request.id, request.chat_telegram_id)
            await end_chat(job, "the chat was unreachable before")
            return
        try:
            # A flood wait up to `flood_hand_back_s` is sat out inside the send (the lease
            # renewed by `watch` meanwhile); the observer tells the user why nothing moves.
            with (
                flood_observer(job.status.on_flood_wait),
                flood_hand_back(self._parts.flood_hand_back_s),
            ):
                await self._deliver(job, cached_lane)
        except (LeftOurHandsError, _PassError):
            raise
        except TelegramRetryAfter as exc:
            # A long flood wait: the slot goes to other chats' jobs, this one comes back
            # when its chat may be written to (`_wait_for_chat`); parts sent are kept.
            logger.warning(
                "job %s: flood control holds chat %s back %d s; handing the job back",
                request.id,
                request.chat_telegram_id,
                exc.retry_after,
            )
            wait = FloodWait(
                request.chat_telegram_id, exc.method.__api_method__, exc.retry_after, 0
            )
            job.status.on_flood_wait(wait)
            await job.requests.release(request.id, refund=True)
            raise DeferJobError("the chat is held back by flood control") from exc
        except DownloadError as exc:
            if isinstance(exc, SitePushBackError) and self._parts.admin_alerts is not None:
                await self._parts.admin_alerts.warn_push_back(self._parts.bot, exc)
            if exc.transient:
                logger.warning("job %s: transient failure: %s", request.id, exc.detail)
                await job.requests.release(request.id)
                raise RetryJobError(exc.user_message) from exc
            logger.info("job %s: failed: %s (%s)", request.id, exc.user_message, exc.detail)
            await fail(job, texts.download_failed(exc))
        except (TelegramNetworkError, TelegramServerError) as exc:
            # Passing: Telegram down for a while.
            logger.warning("job %s: Telegram is not taking it now: %s", request.id, exc)
            await job.requests.release(request.id)
            raise RetryJobError(describe(exc)) from exc
        except TelegramAPIError as exc:
            if chat_unreachable(exc):
                logger.warning(
                    "job %s: chat %s is unreachable (%s); ending its requests",
                    request.id,
                    request.chat_telegram_id,
                    exc.message,
                )
                await end_chat(job, exc.message)
                return
            logger.warning("job %s: Telegram refused the delivery: %s", request.id, exc.message)
            await fail(job, describe(exc), detail=exc.message)
        except RetryJobError:
            await job.requests.release(request.id)
            raise
        except Exception as exc:
            if database_unavailable(exc):
                raise  # nothing to release it with: the lease runs out (see `_handle`)
            logger.exception("job %s: unexpected failure", request.id)
            await job.requests.release(request.id)
            raise RetryJobError(f"{type(exc).__name__}: {exc}") from exc

    async def _deliver(self, job: JobContext, cached_lane: bool) -> None:
        """The cache first, then (after any twin's fetch) the cache again, then a fetch;
        in the cached lane, the cache or the main lane."""
        request = job.request
        job.inline = await self._inline_place(request)
        target = job.target(request.title or "")
        if not request.delivered_parts and await resend_from_cache(
            job, self._ports.senders, target
        ):
            return
        if cached_lane:
            await self._wait_for_twin_in_cached_lane(job, target)
            return
        if (
            await settle_height(job, self._ports.downloaders)
            and not request.delivered_parts
            and await resend_from_cache(job, self._ports.senders, target)
        ):
            return
        await job.move(RequestState.DOWNLOADING)
        twin_waits_here = self._parts.to_cached_lane is None
        if not twin_waits_here and not request.delivered_parts:
            if await job.requests.being_fetched(request.id):
                raise _PassError(_Lane.CACHED, "a twin is being fetched")
            # A twin that finished since the first look is in the cache now.
            if not job.cache_went_stale and await resend_from_cache(
                job, self._ports.senders, target
            ):
                return
        job.status.show(texts.downloading())
        if (
            twin_waits_here
            and not request.delivered_parts
            and await wait_for_twin(job)
            and await resend_from_cache(job, self._ports.senders, target)
        ):
            return
        await fetch_and_send(job, self._fetching)

    async def _wait_for_twin_in_cached_lane(self, job: JobContext, target: SendTarget) -> None:
        """A cache miss in the cached lane: wait a while for a twin's fetch to fill the cache;
        the main lane when there is none (or it failed), this lane later when it goes on."""
        request = job.request
        if request.delivered_parts:
            raise _PassError(_Lane.MAIN, "a delivery to resume")
        if job.cache_went_stale:  # and this request, moved on to uploading, is no twin's fetch
            raise _PassError(_Lane.MAIN, "the cached file ids went stale")
        # Unordered: a request waiting here fetches nothing, so it waits for any fetch.
        if not await job.requests.being_fetched(request.id, ordered=False):
            raise _PassError(_Lane.MAIN, "not in the cache")
        if self._twin_waits.locked():
            raise _PassError(_Lane.LATER, "a twin is being fetched, every waiting slot taken")
        async with self._twin_waits:
            await wait_for_twin(job, wait_s=self._parts.cached_twin_wait_s, ordered=False)
        if await resend_from_cache(job, self._ports.senders, target):
            return
        if await job.requests.being_fetched(request.id, ordered=False):
            raise _PassError(_Lane.LATER, "a twin is still being fetched")
        raise _PassError(_Lane.MAIN, "not in the cache after the twin's fetch")

    async def _inline_place(self, request: Request) -> InlinePlace | None:
        """Where an inline request's file goes, and the way to the private chat when it
        comes in parts (`/start inline_<request>` there sends them)."""
        if request.inline_message_id is None:
            return None
        me = await self._parts.bot.me()
        return InlinePlace(
            message_id=request.inline_message_id,
            too_large_text=texts.inline_too_large(),
            private_button=texts.inline_in_private_chat(),
            private_link=f"https://t.me/{me.username}?start={start_payload(request.id)}",
        )
