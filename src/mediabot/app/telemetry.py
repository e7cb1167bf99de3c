"""The `/metrics` endpoint of a process (`METRICS_PORT`) and the gauges it refreshes itself.

The instruments are in `mediabot.metrics`; this serves them with prometheus_client's own
HTTP server (a thread, so a busy event loop still answers a scrape), keeps the queue
depth current from the database, the truth about what waits for a worker, and counts the
jobs in progress. This module is every process's, the bot's too: it imports nothing of the
downloaders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import start_http_server
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot import metrics
from mediabot.app.errors import StartupError
from mediabot.db.models import RequestRow
from mediabot.db.outages import database_unavailable
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job

logger = logging.getLogger(__name__)

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
    statement = select(func.count()).select_from(RequestRow).where(RequestRow.state.in_(_WAITING))
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
