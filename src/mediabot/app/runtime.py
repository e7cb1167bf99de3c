"""What a process builds once at start-up and closes on the way out (`app.processes`),
shared by its bot half and its worker half (`app.workers`)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.config import Settings
from mediabot.queue.base import JobQueue
from mediabot.telegram.pacing import Pacer


@dataclass(frozen=True, slots=True)
class Runtime:
    """The process's settings, database, Telegram client and the three lanes."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    pacer: Pacer
    job_queue: JobQueue
    cached_queue: JobQueue
    """The lane of files Telegram already has (see `worker.pipeline`)."""
    lookup_queue: JobQueue
    """The lookup lane (see `worker.lookups`)."""
