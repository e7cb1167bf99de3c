"""The long-running processes: `run` (everything), `bot` and `worker`.

This is the only place that chooses RabbitMQ or the in-process queue, and builds the
engine, the Telegram client and the queue connection; each is closed on the way out.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.app.checks import check_broker, check_database, check_telegram, check_tools
from mediabot.app.diagnostics import install_dump_on_signal
from mediabot.app.lookup_metrics import timed_lookup
from mediabot.app.telemetry import counting_active, serve_metrics, watch_queue_depth
from mediabot.app.worker_ports import worker_ports
from mediabot.bot.claims import UpdateClaimMiddleware
from mediabot.bot.commands import register_commands
from mediabot.bot.dispatcher import build_dispatcher
from mediabot.bot.keyboards import cancel_keyboard, playlist_cancel_keyboard
from mediabot.bot.lookups import SharedLookups
from mediabot.bot.webhook import serve_webhook
from mediabot.config import ConfigError, Settings
from mediabot.db.alerts import DatabaseAlertLedger
from mediabot.db.budget import PostgresBudget
from mediabot.db.engine import create_engine, create_session_factory, is_sqlite
from mediabot.db.migrate import upgrade
from mediabot.db.updates import UpdateClaims
from mediabot.downloaders.cookies import check_cookies_files
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.playlists import get_playlist
from mediabot.downloaders.registry import get_resolutions
from mediabot.queue.base import JobQueue
from mediabot.queue.local import LocalJobQueue
from mediabot.queue.rabbit import RabbitJobQueue
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.client import create_bot
from mediabot.telegram.fallback import FallbackBudget
from mediabot.telegram.pacing import Pacer
from mediabot.worker.pipeline import Pipeline, PipelineParts
from mediabot.worker.recovery import Recovery

logger = logging.getLogger(__name__)

RETRY_BASE_DELAY_S = 10.0


@dataclass(frozen=True, slots=True)
class _Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    pacer: Pacer
    job_queue: JobQueue
    cached_queue: JobQueue
    """The lane of files Telegram already has (see `worker.pipeline`)."""


JOBS_QUEUE = "mediabot.jobs"
CACHED_JOBS_QUEUE = "mediabot.jobs.cached"


def _make_queue(settings: Settings, name: str) -> JobQueue:
    if settings.amqp_url is not None:
        return RabbitJobQueue(
            settings.amqp_url.get_secret_value(),
            queue_name=name,
            max_attempts=settings.job_max_attempts,
            base_delay_s=RETRY_BASE_DELAY_S,
        )
    return LocalJobQueue(max_attempts=settings.job_max_attempts, base_delay_s=RETRY_BASE_DELAY_S)


@contextlib.asynccontextmanager
async def _runtime(settings: Settings, *, migrate: bool) -> AsyncIterator[_Runtime]:
    settings.require_token()
    check_tools()
    engine = create_engine(settings.effective_database_url)
    pacer = _pacer(settings, engine)
    bot = create_bot(settings, pacer=pacer)
    job_queue = _make_queue(settings, JOBS_QUEUE)
    cached_queue = _make_queue(settings, CACHED_JOBS_QUEUE)
    try:
        # Each check fails with one line saying what to do (see `app/checks.py`).
        await check_database(engine, schema=not migrate)
        if settings.amqp_url is not None:
            await check_broker(settings.amqp_url.get_secret_value())
        await check_telegram(bot, settings.telegram_api_url)
        if migrate:
            await upgrade(engine)
        await job_queue.connect()
        await cached_queue.connect()
        sessions = create_session_factory(engine)
        yield _Runtime(settings, engine, sessions, bot, pacer, job_queue, cached_queue)
    finally:
        await cached_queue.close()
        await job_queue.close()
        await bot.session.close()
        await engine.dispose()


def _pacer(settings: Settings, engine: AsyncEngine) -> Pacer:
    """Telegram's limits are the bot's, whichever process sends: on PostgreSQL, every
    process draws from one budget in the database (from its own share while the database is
    away); on SQLite (one machine, normally one process), from its own."""
    if is_sqlite(settings.effective_database_url):
        return Pacer()
    return Pacer(FallbackBudget(PostgresBudget(engine)))


def _worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _pipeline(runtime: _Runtime, admin_alerts: AdminAlerts) -> Pipeline:
    settings = runtime.settings
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    lease = timedelta(seconds=settings.job_lease_s)
    ports = worker_ports(
        sessions=runtime.sessions,
        bot=runtime.bot,
        pacer=runtime.pacer,
        download_options=DownloadOptions.from_settings(settings),
        upload_limit_bytes=settings.upload_limit_bytes,
        owner=_worker_id(),
        lease=lease,
        max_running_per_user=settings.max_running_per_user,
        status_markup=cancel_keyboard,
        playlist_markup=playlist_cancel_keyboard,
    )
    parts = PipelineParts(
        bot=runtime.bot,
        work_dir=settings.work_dir,
        upload_limit_bytes=settings.upload_limit_bytes,
        lease=lease,
        min_free_disk_bytes=settings.min_free_disk_mb * 1024 * 1024,
        admin_alerts=admin_alerts,
        hand_over=runtime.job_queue.publish,
        to_cached_lane=runtime.cached_queue.publish,
        cached_twin_waits=max(1, settings.worker_cached_concurrency // 4),
    )
    return Pipeline(parts, ports)


def _dispatcher(runtime: _Runtime, admin_alerts: AdminAlerts) -> Dispatcher:
    options = DownloadOptions.from_settings(runtime.settings)
    claims = UpdateClaims(
        runtime.engine, owner=_worker_id(), lease_s=runtime.settings.update_lease_s
    )
    return build_dispatcher(
        settings=runtime.settings,
        sessions=runtime.sessions,
        job_queue=runtime.job_queue,
        cached_queue=runtime.cached_queue,
        lookup=SharedLookups(timed_lookup(partial(get_resolutions, options=options))),
        admin_alerts=admin_alerts,
        playlist_lookup=partial(
            get_playlist, options=options, max_items=runtime.settings.playlist_max_items
        ),
        # A webhook answers a busy update with 503 (Telegram posts it again); a poller waits.
        claims=UpdateClaimMiddleware(claims, wait_when_busy=runtime.settings.webhook_url is None),
    )


def settle_heap() -> None:
    """Put what start-up built (modules, models, routers: nearly the whole heap) out of the
    garbage collector's sight, for good.

    Every full collection walked all of it with the event loop stopped: 180-260 ms in the bot
    and a worker under load, and the messages due meanwhile went out in a clump (which
    Telegram's 30-a-second window counts against the bot). 30-60 ms once frozen.
    """
    gc.collect()
    gc.freeze()


def _stop_event() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    install_dump_on_signal()
    return stop


async def _receive_updates(runtime: _Runtime, dispatcher: Dispatcher) -> None:
    """Long polling (one poller per token), or a webhook server when `WEBHOOK_URL` is set
    (any number of processes behind a load balancer); runs until cancelled."""
    settings = runtime.settings
    if settings.webhook_url is None:
        await runtime.bot.delete_webhook(drop_pending_updates=False)
        await dispatcher.start_polling(
            runtime.bot,
            handle_signals=False,
            close_bot_session=False,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        return
    await serve_webhook(
        dispatcher,
        runtime.bot,
        url=settings.webhook_url,
        listen=settings.webhook_listen,
        secret_token=settings.webhook_secret_token,
    )


async def _serve(runtime: _Runtime, *, bot: bool, workers: bool, recover_all: bool) -> int:
    """Receive updates and/or work on jobs until SIGTERM, then stop within the grace period."""
    stop = _stop_event()
    settings = runtime.settings
    background: list[asyncio.Task[None]] = []
    running: list[asyncio.Task[None]] = []
    # one hour per kind for the whole fleet: the database decides which process warns
    admin_alerts = AdminAlerts(settings.admin_ids, ledger=DatabaseAlertLedger(runtime.sessions))
    if settings.metrics_port is not None:
        serve_metrics(settings.metrics_port)
        background.append(asyncio.create_task(watch_queue_depth(runtime.sessions)))
    if workers:
        pipeline = _pipeline(runtime, admin_alerts)
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
        background.append(asyncio.create_task(recovery.run_forever(interval)))
        consume = runtime.job_queue.consume(
            counting_active(pipeline.handle), pipeline.on_dead_letter, settings.worker_concurrency
        )
        consume_cached = runtime.cached_queue.consume(
            counting_active(pipeline.handle_cached),
            pipeline.on_dead_letter,
            settings.worker_cached_concurrency,
        )
        running.append(asyncio.create_task(consume))
        running.append(asyncio.create_task(consume_cached))
    dispatcher = _dispatcher(runtime, admin_alerts) if bot else None
    updates: asyncio.Task[None] | None = None
    if dispatcher is not None:
        await register_commands(runtime.bot)
        updates = asyncio.create_task(_receive_updates(runtime, dispatcher))
        running.append(updates)
    me = await runtime.bot.get_me()
    settle_heap()
    logger.info(
        "mediabot started as @%s: %s, queue %s",
        me.username,
        " + ".join(part for part, on in (("bot", bot), ("workers", workers)) if on),
        type(runtime.job_queue).__name__,
    )
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopper, *running], return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    logger.info("stopping: no new updates or jobs; grace %.0f s", settings.shutdown_grace_s)
    if dispatcher is not None and updates is not None:
        if settings.webhook_url is None:
            with contextlib.suppress(RuntimeError):  # polling had not started yet
                await dispatcher.stop_polling()
        else:
            updates.cancel()
    await asyncio.gather(
        runtime.job_queue.stop(settings.shutdown_grace_s),
        runtime.cached_queue.stop(settings.shutdown_grace_s),
    )
    for task in background:
        task.cancel()
    _, pending = await asyncio.wait(running, timeout=5)
    for task in pending:
        task.cancel()
    await asyncio.gather(*background, *running, return_exceptions=True)
    for task in running:
        if task in done and not task.cancelled() and task.exception() is not None:
            logger.error("stopped after a failure", exc_info=task.exception())
            return 1
    logger.info("stopped")
    return 0


async def run_process(command: str, settings: Settings) -> int:
    """Run `run`, `bot` or `worker` until SIGTERM; returns the exit code."""
    check_cookies_files(DownloadOptions.from_settings(settings))
    if command == "run":
        async with _runtime(settings, migrate=True) as runtime:
            return await _serve(
                runtime, bot=True, workers=True, recover_all=settings.amqp_url is None
            )
    if settings.amqp_url is None:
        raise ConfigError(
            f"AMQP_URL is required for `mediabot {command}`; "
            "use `mediabot run` to run everything in one process"
        )
    if is_sqlite(settings.effective_database_url):
        logger.warning(
            "`mediabot %s` on SQLite: fine on one machine, use PostgreSQL to scale", command
        )
    async with _runtime(settings, migrate=False) as runtime:
        return await _serve(
            runtime, bot=command == "bot", workers=command == "worker", recover_all=False
        )
