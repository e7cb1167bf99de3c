"""The dispatcher: routers in order, the database middleware, long-lived parts injected."""

from __future__ import annotations

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.bot.access import AccessMiddleware
from mediabot.bot.adapters import PortsMiddleware
from mediabot.bot.claims import UpdateClaimMiddleware
from mediabot.bot.handlers import routers
from mediabot.bot.i18n import UserLocaleMiddleware
from mediabot.bot.middlewares import (
    VISITED_UPDATES,
    AnswerDeadlineMiddleware,
    DatabaseMiddleware,
)
from mediabot.bot.outages import OutageMiddleware, Outages
from mediabot.config import Settings
from mediabot.queue.base import JobQueue
from mediabot.telegram.alerts import AdminAlerts


def build_dispatcher(
    *,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    job_queue: JobQueue,
    lookup_queue: JobQueue,
    cached_queue: JobQueue | None = None,
    admin_alerts: AdminAlerts | None = None,
    outages: Outages | None = None,
    claims: UpdateClaimMiddleware | None = None,
) -> Dispatcher:
    """A dispatcher whose handlers get `session`, `ports` (the use cases' ports over it),
    `settings`, `job_queue`, `cached_queue` (the lane of files Telegram already has;
    `job_queue` when there is none), `lookup_queue` (the lookup lane: the bot never looks a
    link up itself) and `admin_alerts` (warnings to `ADMIN_IDS`, one an hour per kind).

    What a handler sends is retried through flood waits until its update is too old
    to matter (`AnswerDeadlineMiddleware`); within the same bound, an update is held while
    the database or the broker is away (`OutageMiddleware`: `outages`, the process's view
    of them), and handlers get that hold as `hold`. With `claims`, each update is claimed in
    the database before anything handles it, so that it is handled once (`bot.claims`).
    """
    dispatcher = Dispatcher(
        disable_fsm=True,  # no handler keeps a conversation's state
        settings=settings,
        job_queue=job_queue,
        cached_queue=cached_queue or job_queue,
        lookup_queue=lookup_queue,
        admin_alerts=admin_alerts or AdminAlerts(settings.admin_ids),
    )
    dispatcher.update.outer_middleware(AnswerDeadlineMiddleware())
    dispatcher.update.outer_middleware(OutageMiddleware(outages))
    if claims is not None:
        dispatcher.update.outer_middleware(claims)
    observers = [dispatcher.observers[kind] for kind in VISITED_UPDATES]
    middleware = DatabaseMiddleware(sessions)
    ports = PortsMiddleware()  # after the session: the use cases' ports are built over it
    locales = UserLocaleMiddleware()  # after the session: it reads the user's choice
    access = AccessMiddleware()  # inner: only updates a handler took meet the allowlists
    for observer in observers:
        observer.outer_middleware(middleware)
        observer.outer_middleware(ports)
        observer.outer_middleware(locales)
        observer.middleware(access)
    dispatcher.include_routers(*routers())
    return dispatcher
