"""The worker half of a process (`mediabot worker`, and `mediabot run`): the download
lanes, the lookup lane with its lookup processes, recovery and the sweep of lost lookups.

Only the processes that run workers import this module: it loads yt-dlp and the
downloaders, which the bot process never does (`tests/bot/test_thin_bot.py`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path

from mediabot.app.cores import usable_cores
from mediabot.app.logs import configure_logging
from mediabot.app.runtime import Runtime
from mediabot.app.telemetry import counting_active
from mediabot.app.worker_ports import worker_ports
from mediabot.bot.keyboards import (
    cancel_keyboard,
    other_choices_keyboard,
    playlist_cancel_keyboard,
)
from mediabot.bot.offers import OfferView
from mediabot.config import Settings
from mediabot.db.lookups import LookupRequests, SharedLookups
from mediabot.domain.clips import Clip
from mediabot.downloaders.cookies import check_cookies_files
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import make_downloader
from mediabot.downloaders.subtitles import SubtitleTrack
from mediabot.telegram.alerts import AdminAlerts
from mediabot.worker.default_choice import DefaultChoices
from mediabot.worker.lookup_find import Finder, identity
from mediabot.worker.lookup_pool import LookupPool
from mediabot.worker.lookup_replies import TelegramReplies
from mediabot.worker.lookup_subtitles import FetchSubtitles, SubtitleReplies
from mediabot.worker.lookups import LookupLane, LookupWorker
from mediabot.worker.pipeline import Pipeline, PipelineParts
from mediabot.worker.recovery import Recovery

LOOKUP_LEASE_S = 15.0
"""A lookup's lease, renewed every third of it: a worker killed mid-lookup hands its
lookups over this long after."""
LOOKUP_SWEEP_EVERY_S = 10.0
"""How often a worker looks for lookup requests whose job was lost."""


@dataclass(frozen=True, slots=True)
class WorkerParts:
    """What the process built once (`runtime`), the fleet's admin alerts and this worker's
    name as the owner of its leases."""

    runtime: Runtime
    admin_alerts: AdminAlerts
    owner: str


@dataclass(slots=True)
class Workers:
    """The running parts: `running` ends only when a lane fails; `background` is cancelled."""

    running: list[asyncio.Task[None]] = field(default_factory=list)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    pool: LookupPool | None = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def check_worker_files(settings: Settings) -> None:
    """The cookies files a worker reads are there (a start-up check)."""
    check_cookies_files(DownloadOptions.from_settings(settings))


def lookup_pool(settings: Settings) -> LookupPool:
    """The lookup processes of this worker (`LOOKUP_PROCESSES`, default one per core it
    may use: `app.cores`)."""
    return LookupPool(
        DownloadOptions.from_settings(settings),
        max_items=settings.playlist_max_items,
        timeout_s=settings.lookup_timeout_s + 2.0,
        processes=_lookup_processes(settings),
        on_start=partial(configure_logging, settings),
    )


def _lookup_processes(settings: Settings) -> int:
    return settings.lookup_processes or usable_cores()


def lookup_worker(parts: WorkerParts, find: Finder) -> LookupWorker:
    """The lookup lane's consumer over the database, the bot's words and `find`."""
    runtime = parts.runtime
    settings = runtime.settings
    return LookupWorker(
        LookupLane(
            requests=LookupRequests(runtime.engine),
            shared=SharedLookups(runtime.engine),
            find=find,
            replies=TelegramReplies(
                runtime.bot,
                runtime.sessions,
                OfferView(),
                parts.admin_alerts,
                settings.storage_chat_id,
                defaults=DefaultChoices(
                    runtime.sessions,
                    max_active=settings.max_active_requests,
                    per_hour=settings.rate_limit_per_hour,
                    main_lane=runtime.job_queue.publish,
                    cached_lane=runtime.cached_queue.publish,
                ),
                subtitles=SubtitleReplies(runtime.bot, _subtitles_fetch(settings), OfferView()),
                max_duration_s=settings.max_duration_s,
            ),
            owner=parts.owner,
            identity=identity,
            lease_s=LOOKUP_LEASE_S,
            lookup_timeout_s=settings.lookup_timeout_s + 5.0,
            links_per_user=max(1, _lookup_processes(settings) - 1),
        )
    )


def _subtitles_fetch(settings: Settings) -> FetchSubtitles:
    """Subtitles fetched by the link's downloader, under the settings' download rules."""
    options = DownloadOptions.from_settings(settings)

    async def fetch(url: str, language: str, path: Path, clip: Clip | None) -> SubtitleTrack | None:
        downloader = make_downloader(url, None, options=options)
        return await downloader.fetch_subtitles(
            path,
            language,
            start_s=clip.start_s if clip else 0.0,
            end_s=clip.end_s if clip else None,
        )

    return fetch


async def start_workers(parts: WorkerParts, *, recover_all: bool) -> Workers:
    """Recover what a previous run left, then consume the three lanes."""
    runtime = parts.runtime
    settings = runtime.settings
    workers = Workers()
    pipeline = _pipeline(parts)
    recovery = Recovery(
        runtime.sessions,
        runtime.job_queue,
        settings.work_dir,
        max_attempts=settings.job_max_attempts,
        give_up=pipeline.on_dead_letter,
        cached_queue=runtime.cached_queue,
    )
    await recovery.sweep_work_dir()
    await recovery.republish(everything=recover_all)
    interval = min(60.0, settings.job_lease_s / 2)
    workers.background.append(asyncio.create_task(recovery.run_forever(interval)))
    workers.pool = lookup_pool(settings)
    await workers.pool.warm()
    lookups = lookup_worker(parts, workers.pool)
    if recover_all:  # the in-process queue: the last run's lookup jobs died with it
        await lookups.recover(runtime.lookup_queue.publish)
    await lookups.sweep()
    workers.background.append(asyncio.create_task(lookups.sweep_forever(LOOKUP_SWEEP_EVERY_S)))
    workers.running.extend(
        asyncio.create_task(consume)
        for consume in (
            runtime.lookup_queue.consume(
                lookups.handle, lookups.on_dead_letter, settings.worker_lookup_concurrency
            ),
            runtime.job_queue.consume(
                counting_active(pipeline.handle),
                pipeline.on_dead_letter,
                settings.worker_concurrency,
            ),
            runtime.cached_queue.consume(
                counting_active(pipeline.handle_cached),
                pipeline.on_dead_letter,
                settings.worker_cached_concurrency,
            ),
        )
    )
    return workers


def _pipeline(parts: WorkerParts) -> Pipeline:
    runtime = parts.runtime
    settings = runtime.settings
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    lease = timedelta(seconds=settings.job_lease_s)
    ports = worker_ports(
        sessions=runtime.sessions,
        bot=runtime.bot,
        pacer=runtime.pacer,
        download_options=DownloadOptions.from_settings(settings),
        upload_limit_bytes=settings.upload_limit_bytes,
        owner=parts.owner,
        lease=lease,
        max_running_per_user=settings.max_running_per_user,
        status_markup=cancel_keyboard,
        playlist_markup=playlist_cancel_keyboard,
        delivered_markup=other_choices_keyboard,
    )
    return Pipeline(
        PipelineParts(
            bot=runtime.bot,
            work_dir=settings.work_dir,
            upload_limit_bytes=settings.upload_limit_bytes,
            lease=lease,
            min_free_disk_bytes=settings.min_free_disk_mb * 1024 * 1024,
            admin_alerts=parts.admin_alerts,
            hand_over=runtime.job_queue.publish,
            to_cached_lane=runtime.cached_queue.publish,
            cached_twin_waits=max(1, settings.worker_cached_concurrency // 4),
        ),
        ports,
    )
