"""The `/metrics` endpoint of a process (`METRICS_PORT`) and the gauges it refreshes itself.

The instruments are in `mediabot.metrics`; this serves them with prometheus_client's own
HTTP server (a thread, so a busy event loop still answers a scrape), keeps the queue
depth current from the database, the truth about what waits for a worker, and wraps the
callables whose calls are measured (jobs in progress, lookups by outcome).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from prometheus_client import start_http_server
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot import metrics
from mediabot.app.errors import StartupError
from mediabot.db.models import File
from mediabot.db.outages import database_unavailable
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job
from mediabot.downloaders.errors import (
    DownloadError,
    PlaylistLinkError,
    SitePushBackError,
    StalledError,
)

logger = logging.getLogger(__name__)

_Answer = TypeVar("_Answer")

QUEUE_DEPTH_EVERY_S = 15.0
_WAITING = (RequestState.ACCEPTED, RequestState.QUEUED)


def serve_metrics(port: int) -> None:
    """Serve `/metrics` on `port`, all interfaces (the scraper is usually elsewhere)."""
    try:
        start_http_server(port)
    except OSError as exc:
        raise StartupError(f"METRICS_PORT {port} cannot be listened on: {exc.strerror}") from None
    logger.info("metrics on http://0.0.0.0:%d/metrics", port)


async def watch_queue_depth(
    sessions: async_sessionmaker[AsyncSession], every_s: float = QUEUE_DEPTH_EVERY_S
) -> None:
    """Keep `mediabot_queue_depth` at the count of requests waiting for a worker; forever."""
    statement = select(func.count()).select_from(File).where(File.state.in_(_WAITING))
    while True:
        try:
            async with sessions() as session:
                metrics.QUEUE_DEPTH.set((await session.execute(statement)).scalar_one())
        except Exception as exc:
            # A database away fails the connect with a bare OSError, not a SQLAlchemyError.
            if not (isinstance(exc, SQLAlchemyError) or database_unavailable(exc)):
                raise
            logger.warning("queue depth not read: %s", exc)
        await asyncio.sleep(every_s)


def counting_active(handle: Callable[[Job], Awaitable[None]]) -> Callable[[Job], Awaitable[None]]:
    """`handle`, counted in `mediabot_active_jobs` while it runs."""

    async def handle_counted(job: Job) -> None:
        with metrics.ACTIVE_JOBS.track_inprogress():
            await handle(job)

    return handle_counted


def lookup_outcome(exc: BaseException | None) -> str:
    """The `outcome` label of a lookup that ended with `exc` (None: it found media).

    found; playlist (the link is a playlist, listed next); refused (the site or the rules
    say no: private, removed, unsupported, too long); pushed_back (the site wants a login
    or suspects a bot: an operator acts); timeout (over `LOOKUP_TIMEOUT_S`); cancelled;
    failed (a fault of ours or an answer nobody expected).
    """
    if exc is None:
        return "found"
    if isinstance(exc, PlaylistLinkError):
        return "playlist"
    if isinstance(exc, SitePushBackError):
        return "pushed_back"
    if isinstance(exc, StalledError | TimeoutError):
        return "timeout"
    if isinstance(exc, DownloadError):
        return "refused"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "failed"


Lookup = Callable[[str], Awaitable[_Answer]]


def timed_lookup(lookup: Lookup[_Answer]) -> Lookup[_Answer]:
    """`lookup`, each call observed in `mediabot_lookup_seconds` under its outcome; its
    answer or exception goes on unchanged."""

    async def lookup_timed(url: str) -> _Answer:
        started = time.perf_counter()
        ended: BaseException | None = None
        try:
            return await lookup(url)
        except BaseException as exc:
            ended = exc
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.LOOKUP_SECONDS.labels(outcome=lookup_outcome(ended)).observe(elapsed)

    return lookup_timed
