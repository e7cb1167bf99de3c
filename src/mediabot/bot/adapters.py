"""The use cases' ports (`bot.usecases.ports`) over this update's database session and
hold, built once per update by `PortsMiddleware`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot.outages import UpdateHold
from mediabot.bot.usecases.lookups import ask_lookup
from mediabot.bot.usecases.ports import Ports, Publisher
from mediabot.db.base import utcnow
from mediabot.db.repositories import PlaylistRepository, RequestRows, UserRepository
from mediabot.db.stats import collect
from mediabot.domain.jobs import Job
from mediabot.queue.base import JobQueue

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class HeldPublisher:
    """Publishes through the update's hold (`UpdateHold.publish`: a broker outage is
    waited out until the update's answer deadline)."""

    hold: UpdateHold
    main: JobQueue
    cached_lane: JobQueue

    async def publish(self, job: Job, *, cached: bool = False) -> bool:
        return await self.hold.publish(self.cached_lane if cached else self.main, job)


def database_ports(session: AsyncSession, publisher: Publisher) -> Ports:
    """The ports over `session`, which is also the use cases' transaction."""
    return Ports(
        files=RequestRows(session),
        playlists=PlaylistRepository(session),
        users=UserRepository(session),
        transaction=session,
        publisher=publisher,
        stats=partial(collect, session),
        clock=utcnow,
    )


class PortsMiddleware(BaseMiddleware):
    """Gives filters and handlers the update's `ports`.

    Outer middleware of the observers, after `DatabaseMiddleware` (its `session`), inside
    `OutageMiddleware` (its `hold`); `job_queue` and `cached_queue` come from the dispatcher.
    With a lookup lane (`lookup_queue`), also `lookups`: `AskLookup` over the same.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        publisher = HeldPublisher(data["hold"], data["job_queue"], data["cached_queue"])
        data["ports"] = database_ports(data["session"], publisher)
        if data.get("lookup_queue") is not None:
            data["lookups"] = ask_lookup(data["session"], data["hold"], data["lookup_queue"])
        return await handler(event, data)
