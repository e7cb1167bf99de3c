"""The worker's ports wired to the database, aiogram, the senders and the downloaders."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.downloaders.options import DownloadOptions
from mediabot.telegram.pacing import Pacer
from mediabot.worker.adapters import (
    AiogramSenders,
    AiogramStatuses,
    DatabaseRequests,
    RegistryDownloaders,
)
from mediabot.worker.ports import Ports

Markup = Callable[[uuid.UUID], InlineKeyboardMarkup | None]


def worker_ports(
    *,
    sessions: async_sessionmaker[AsyncSession],
    bot: Bot,
    pacer: Pacer,
    download_options: DownloadOptions,
    upload_limit_bytes: int,
    owner: str,
    lease: timedelta,
    max_running_per_user: int | None,
    status_markup: Markup,
    playlist_markup: Markup = lambda _: None,
) -> Ports:
    """The ports of one worker process: its requests held as `owner` for `lease` at a time
    (at most `max_running_per_user` of one user at once across workers), its uploads up to
    `upload_limit_bytes`, a request's status with `status_markup` (its ✖), a playlist item's
    with its playlist's (`playlist_markup`)."""
    requests = DatabaseRequests(sessions, owner, lease, max_running_per_user)
    return Ports(
        requests=requests,
        senders=AiogramSenders(bot, upload_limit_bytes, pacer),
        downloaders=RegistryDownloaders(download_options),
        statuses=AiogramStatuses(bot, pacer, status_markup, playlist_markup, requests),
    )
