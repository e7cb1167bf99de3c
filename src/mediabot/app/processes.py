"""The long-running processes: `run` (everything), `bot` and `worker`.

This is the only place that chooses RabbitMQ or the in-process queue, and builds the
engine, the Telegram client and the queue connections; each is closed on the way out. The
worker half (`app/workers.py`, which loads yt-dlp) is imported only by processes that run
workers: `mediabot bot` stays light.
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

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.app.checks import check_broker, check_database, check_telegram, check_tools
from mediabot.app.diagnostics import install_dump_on_signal
from mediabot.app.runtime import Runtime
from mediabot.app.telemetry import serve_metrics, watch_queue_depth
from mediabot.bot.claims import UpdateClaimMiddleware
from mediabot.bot.commands import register_commands
from mediabot.bot.dispatcher import build_dispatcher
from mediabot.bot.middlewares import visitor_of
from mediabot.bot.webhook import serve_webhook
from mediabot.config import ConfigError, Settings
from mediabot.db.alerts import DatabaseAlertLedger
from mediabot.db.budget import PostgresBudget
from mediabot.db.engine import create_engine, create_session_factory, is_sqlite
from mediabot.db.migrate import upgrade
from mediabot.db.updates import UpdateClaims
from mediabot.queue.base import JobQueue
from mediabot.queue.local import LocalJobQueue
from mediabot.queue.rabbit import RabbitJobQueue
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.client import create_bot
from mediabot.telegram.fallback import FallbackBudget
from mediabot.telegram.pacing import Pacer

logger = logging.getLogger(__name__)

RETRY_BASE_DELAY_S = 10.0


JOBS_QUEUE = "mediabot.jobs"
CACHED_JOBS_QUEUE = "mediabot.jobs.cached"
LOOKUPS_QUEUE = "mediabot.lookups"
LOOKUP_EXPIRY_S = 30.0
"""How long a lookup job waits for a worker before the broker drops it (a backlog of
lookups nobody waits for is not worked through); the workers' sweep then answers its
request with a plain reason (`worker.lookups.LOOKUP_WAIT_S`)."""
LOOKUP_MAX_ATTEMPTS = 3
LOOKUP_RETRY_DELAY_S = 1.0


def _make_queue(
    settings: Settings,
    name: str,
    *,
    max_attempts: int | None = None,
    base_delay_s: float = RETRY_BASE_DELAY_S,
    expiry_s: float | None = None,
) -> JobQueue:
    attempts = max_attempts or settings.job_max_attempts
    if settings.amqp_url is not None:
        return RabbitJobQueue(
            settings.amqp_url.get_secret_value(),
            queue_name=name,
            max_attempts=attempts,
            base_delay_s=base_delay_s,
            expiry_s=expiry_s,
            publish_timeout_s=settings.publish_timeout_s,
        )
    return LocalJobQueue(max_attempts=attempts, base_delay_s=base_delay_s)


@contextlib.asynccontextmanager
async def _runtime(settings: Settings, *, migrate: bool) -> AsyncIterator[Runtime]:
    settings.require_token()
    check_tools()
    engine = create_engine(settings.effective_database_url)
    pacer = _pacer(settings, engine)
    bot = create_bot(settings, pacer=pacer)
    job_queue = _make_queue(settings, JOBS_QUEUE)
    cached_queue = _make_queue(settings, CACHED_JOBS_QUEUE)
    lookup_queue = _make_queue(
        settings,
        LOOKUPS_QUEUE,
        max_attempts=LOOKUP_MAX_ATTEMPTS,
        base_delay_s=LOOKUP_RETRY_DELAY_S,
        expiry_s=LOOKUP_EXPIRY_S,
    )
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
        await lookup_queue.connect()
        sessions = create_session_factory(engine)
        yield Runtime(settings, engine, sessions, bot, pacer, job_queue, cached_queue, lookup_queue)
    finally:
        await lookup_queue.close()
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


def _dispatcher(runtime: Runtime, admin_alerts: AdminAlerts) -> Dispatcher:
    claims = UpdateClaims(
        runtime.engine, owner=_worker_id(), lease_s=runtime.settings.update_lease_s
    )
    return build_dispatcher(
        settings=runtime.settings,
        sessions=runtime.sessions,
        job_queue=runtime.job_queue,
        cached_queue=runtime.cached_queue,
        lookup_queue=runtime.lookup_queue,
        admin_alerts=admin_alerts,
        # A webhook answers a busy update with 503 (Telegram posts it again); a poller waits.
        claims=UpdateClaimMiddleware(
            claims, wait_when_busy=runtime.settings.webhook_url is None, visitor=visitor_of
        ),
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


async def _receive_updates(runtime: Runtime, dispatcher: Dispatcher) -> None:
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


async def _serve(runtime: Runtime, *, bot: bool, workers: bool, recover_all: bool) -> int:
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
    started = None
    if workers:
        from mediabot.app import workers as worker_half  # the worker half loads yt-dlp

        parts = worker_half.WorkerParts(runtime, admin_alerts, owner=_worker_id())
        started = await worker_half.start_workers(parts, recover_all=recover_all)
        running.extend(started.running)
        background.extend(started.background)
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
        runtime.lookup_queue.stop(settings.shutdown_grace_s),
        runtime.job_queue.stop(settings.shutdown_grace_s),
        runtime.cached_queue.stop(settings.shutdown_grace_s),
    )
    if started is not None:
        started.close()
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
    if command != "bot":
        from mediabot.app.workers import check_worker_files  # the worker half loads yt-dlp

        check_worker_files(settings)
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
