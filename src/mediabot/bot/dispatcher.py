"""The dispatcher: routers in order, the database middleware, long-lived parts injected."""

from __future__ import annotations

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.bot.access import AccessMiddleware
from mediabot.bot.handlers import routers
from mediabot.bot.handlers.links import Lookup, PlaylistLookup
from mediabot.bot.i18n import UserLocaleMiddleware
from mediabot.bot.middlewares import AnswerDeadlineMiddleware, DatabaseMiddleware
from mediabot.config import Settings
from mediabot.queue.base import JobQueue
from mediabot.telegram.alerts import AdminAlerts


def build_dispatcher(
    *,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    job_queue: JobQueue,
    lookup: Lookup,
    admin_alerts: AdminAlerts | None = None,
    playlist_lookup: PlaylistLookup | None = None,
) -> Dispatcher:
    """A dispatcher whose handlers get `session`, `settings`, `job_queue`, `lookup`,
    `admin_alerts` (warnings to `ADMIN_IDS`, one an hour per kind) and `playlist_lookup`
    (None: playlist links are refused as unsupported).

    What a handler sends is retried through flood waits until its update is too old
    to matter (`AnswerDeadlineMiddleware`).
    """
    dispatcher = Dispatcher(
        settings=settings,
        job_queue=job_queue,
        lookup=lookup,
        admin_alerts=admin_alerts or AdminAlerts(settings.admin_ids),
        playlist_lookup=playlist_lookup,
    )
    dispatcher.update.outer_middleware(AnswerDeadlineMiddleware())
    middleware = DatabaseMiddleware(sessions)
    dispatcher.message.outer_middleware(middleware)
    dispatcher.callback_query.outer_middleware(middleware)
    locales = UserLocaleMiddleware()  # after the session: it reads the user's choice
    dispatcher.message.outer_middleware(locales)
    dispatcher.callback_query.outer_middleware(locales)
    access = AccessMiddleware()  # inner: only updates a handler took meet the allowlists
    dispatcher.message.middleware(access)
    dispatcher.callback_query.middleware(access)
    dispatcher.include_routers(*routers())
    return dispatcher
