"""The bot's dispatcher in this process, against the fake Bot API, on a fake clock.

`BotBench` feeds raw updates through the real dispatcher (handlers, middlewares) and a
real aiogram session with mediabot's pacing and retry middlewares; flood waits and updates
held through an outage advance a fake clock instead of sleeping, so a test with twenty 429s
takes milliseconds. The lookup lane's worker (`worker/lookups.py`) runs beside it on the
in-process queue, over the bench's own lookups (`lookups`, `playlists`), and `say` returns
once the bot has handled the message and the worker has answered its links.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.bot.dispatcher import build_dispatcher
from mediabot.bot.offers import OfferView
from mediabot.bot.outages import Outages
from mediabot.config import Settings
from mediabot.db.engine import create_engine
from mediabot.db.lookups import LookupRequests, SharedLookups
from mediabot.db.models import SharedLookup
from mediabot.domain.enums import Provider
from mediabot.domain.jobs import Job
from mediabot.domain.media import MediaOptions, Resolution
from mediabot.domain.playlist import PlaylistEntry, PlaylistOptions
from mediabot.downloaders.errors import UnsupportedLinkError
from mediabot.queue.local import LocalJobQueue
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.middlewares import PacingMiddleware, RetryMiddleware
from mediabot.telegram.pacing import Pacer
from mediabot.worker.default_choice import DefaultChoices
from mediabot.worker.lookup_find import finder
from mediabot.worker.lookup_replies import TelegramReplies
from mediabot.worker.lookups import LookupLane, LookupWorker
from tests.support.clock import FakeClock
from tests.support.fake_telegram import FakeTelegram
from tests.support.services import MigratedDatabases
from tests.support.telegram_fixtures import loopback_session

PLACEHOLDER_AFTER_S = 0.2
"""The bench's lookups are instant unless a test makes one slow: a slow one shows the
placeholder after this (real) time."""


def options(url: str, title: str = "A video", **overrides: Any) -> MediaOptions:
    """What a lookup of `url` finds: 360p and 720p with audio, unless overridden."""
    values: dict[str, Any] = {
        "url": url,
        "provider": Provider.GENERIC,
        "media_key": f"generic:{abs(hash(url))}",
        "title": title,
        "resolutions": (Resolution(360, 1_000_000), Resolution(720, 3_000_000)),
    }
    values.update(overrides)
    return MediaOptions(**values)


def playlist_entries(count: int) -> tuple[PlaylistEntry, ...]:
    """A playlist's `count` entries, "Item 1" on, a minute each."""
    return tuple(
        PlaylistEntry(
            url=f"https://videos.example/v/{number}",
            provider=Provider.GENERIC,
            media_key=f"generic:item{number}",
            title=f"Item {number}",
            duration_s=60.0,
        )
        for number in range(1, count + 1)
    )


@dataclass
class BotBench:
    telegram: FakeTelegram
    bot: Bot
    dispatcher: Dispatcher
    queue: LocalJobQueue
    clock: FakeClock
    sessions: async_sessionmaker[AsyncSession]
    lane: LookupLaneBench
    lookups: dict[str, MediaOptions | BaseException | Callable[[], Awaitable[MediaOptions]]] = (
        field(default_factory=dict)
    )
    playlists: dict[str, PlaylistOptions | BaseException] = field(default_factory=dict)
    """What a playlist lookup of a URL finds (none: no playlist there)."""

    async def lookup(self, url: str) -> MediaOptions:
        found = self.lookups.get(url) or options(url)
        if isinstance(found, BaseException):
            raise found
        if callable(found):
            return await found()
        return found

    async def playlist_lookup(self, url: str) -> PlaylistOptions:
        found = self.playlists.get(url) or UnsupportedLinkError(detail=f"no playlist at {url}")
        if isinstance(found, BaseException):
            raise found
        return found

    async def say(self, chat_id: int, text: str) -> None:
        """A user writes `text`; returns once the bot has handled it and the lookup lane
        has answered what it asked for."""
        update = self.telegram.inject_message(chat_id, text)
        await self.dispatcher.feed_raw_update(self.bot, update)
        await self.lane.settled()

    async def forget_lookups(self) -> None:
        """As if a minute had passed: links are looked up again, not answered as before."""
        async with self.sessions() as session:
            await session.execute(delete(SharedLookup))
            await session.commit()

    async def press(self, chat_id: int, message_id: int, data: str) -> None:
        update = self.telegram.inject_callback(chat_id, message_id, data)
        await self.dispatcher.feed_raw_update(self.bot, update)


class LookupLaneBench:
    """The lookup lane's worker, consuming the in-process lookup queue beside the bot."""

    def __init__(self, queue: LocalJobQueue, worker: LookupWorker) -> None:
        self.queue = queue
        self.worker = worker
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.consuming: asyncio.Task[None] | None = None

    async def handle(self, job: Job) -> None:
        self._busy += 1
        self._idle.clear()
        try:
            await self.worker.handle(job)
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def settled(self) -> None:
        """Wait until every lookup job published so far has been answered."""
        while self.queue.pending or self._busy:
            self._idle.clear()
            await self._idle.wait()

    def start(self) -> None:
        self.consuming = asyncio.create_task(
            self.queue.consume(self.handle, self.worker.on_dead_letter, 8)
        )

    async def stop(self) -> None:
        await self.queue.close()
        if self.consuming is not None:
            await self.consuming


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test module wants besides the bench's own (override this fixture)."""
    return {}


@pytest.fixture
def before_bot_statement() -> Callable[[], None] | None:
    """Called before each statement of the bot's side (override this fixture with one that
    raises to make them fail); None: the bot shares the worker's engine."""
    return None


@pytest.fixture
async def bench(
    telegram: FakeTelegram,
    tmp_path: Path,
    settings_overrides: dict[str, Any],
    before_bot_statement: Callable[[], None] | None,
    migrated_databases: MigratedDatabases,
) -> AsyncIterator[BotBench]:
    settings = Settings(
        bot_token=telegram.token,
        telegram_api_url=telegram.base_url,
        data_dir=tmp_path,
        lookup_timeout_s=0.5,
        **settings_overrides,
    )
    engine = create_engine(migrated_databases.sqlite(tmp_path / "bot.db"))
    clock = FakeClock(start=time.time())
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    session = loopback_session(telegram)
    session.middleware(PacingMiddleware(pacer, wall_clock=clock))
    session.middleware(RetryMiddleware(pacer=pacer, sleep=clock.sleep, wall_clock=clock))
    bot = Bot(token=telegram.token, session=session)
    queue = LocalJobQueue(max_attempts=2, base_delay_s=1)
    holder: list[BotBench] = []

    async def lookup(url: str) -> MediaOptions:
        return await holder[0].lookup(url)

    async def playlist_lookup(url: str) -> PlaylistOptions:
        return await holder[0].playlist_lookup(url)

    bot_engine = engine
    if before_bot_statement is not None:
        hook = before_bot_statement
        bot_engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
        event.listen(bot_engine.sync_engine, "before_cursor_execute", lambda *_: hook())
    sessions = async_sessionmaker(bot_engine, expire_on_commit=False)
    lookup_queue = LocalJobQueue(max_attempts=2, base_delay_s=0.01)
    dispatcher = build_dispatcher(
        settings=settings,
        sessions=sessions,
        job_queue=queue,
        lookup_queue=lookup_queue,
        outages=Outages(clock=clock, sleep=clock.sleep),
    )
    worker_sessions = async_sessionmaker(engine, expire_on_commit=False)
    lane = LookupLaneBench(
        lookup_queue,
        LookupWorker(
            LookupLane(
                requests=LookupRequests(engine),
                shared=SharedLookups(engine),
                find=finder(lookup, playlist_lookup, settings.lookup_timeout_s),
                replies=TelegramReplies(
                    bot,
                    worker_sessions,
                    OfferView(),
                    AdminAlerts(settings.admin_ids),
                    settings.storage_chat_id,
                    DefaultChoices(
                        worker_sessions,
                        max_active=settings.max_active_requests,
                        per_hour=settings.rate_limit_per_hour,
                        main_lane=queue.publish,
                        cached_lane=queue.publish,
                    ),
                ),
                owner="bench-worker",
                placeholder_after_s=PLACEHOLDER_AFTER_S,
                placeholder_grace_s=PLACEHOLDER_AFTER_S,
            )
        ),
    )
    lane.start()
    holder.append(BotBench(telegram, bot, dispatcher, queue, clock, sessions, lane))
    yield holder[0]
    await lane.stop()
    # The handlers' routers are module-level, as in aiogram's examples: free them for the
    # next test's dispatcher (aiogram has no public way to detach a router).
    for router in dispatcher.sub_routers:
        router._parent_router = None
    dispatcher.sub_routers.clear()
    await session.close()
    await bot_engine.dispose()
    await engine.dispose()
