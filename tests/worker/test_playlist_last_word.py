"""A playlist's last word is the last edit of its status message, whichever worker sent
what: two workers (two `DatabaseRequests` owners, two bots) on one database and the fake
Bot API, the earlier item's count held back as a pacer holds it, on each database."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.methods import EditMessageText, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.db.engine import create_session_factory
from mediabot.db.models import Playlist
from mediabot.db.repositories import (
    ChatRepository,
    PlaylistRepository,
    RequestRows,
    TelegramChat,
    TelegramUser,
    UserRepository,
)
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.playlist import PlaylistEntry
from mediabot.worker import texts
from mediabot.worker.adapters import DatabaseRequests
from mediabot.worker.playlist import PlaylistItemStatus
from mediabot.worker.progress import StatusMessage
from mediabot.worker.request import PlaylistPlace
from tests.support.fake_telegram import FakeTelegram
from tests.support.telegram_fixtures import loopback_session
from tests.worker.worker_bench import fast_pacer

CHAT = 930_000_001
WINDOW_S = 1.0
"""The edit window of these tests (the bot's is 5 s): a held edit past it is dropped."""


class _HoldEdits(BaseRequestMiddleware):
    """Holds every status edit until released, as the pacer holds an edit in a busy chat."""

    def __init__(self) -> None:
        self.waiting = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(
        self,
        make_request: Callable[[Bot, TelegramMethod[TelegramType]], Awaitable[Any]],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        if isinstance(method, EditMessageText):
            self.waiting.set()
            await self.release.wait()
        return await make_request(bot, method)


@dataclass
class _Worker:
    requests: DatabaseRequests
    bot: Bot
    held: _HoldEdits = field(default_factory=_HoldEdits)

    def message(self, playlist: _Playlist) -> StatusMessage:
        """The playlist's status message as this worker edits it (through the gate)."""
        return StatusMessage(
            self.bot,
            fast_pacer(),
            CHAT,
            playlist.message_id,
            locale="en",
            edit_gate=functools.partial(self.requests.allow_status_edit, playlist.id),
            edit_window_s=WINDOW_S,
        )

    def status(self, playlist: _Playlist, position: int) -> PlaylistItemStatus:
        place = PlaylistPlace(playlist.id, position, len(playlist.items))
        return PlaylistItemStatus(self.message(playlist), place, self.requests, "en")


@dataclass(frozen=True)
class _Playlist:
    id: uuid.UUID
    items: list[uuid.UUID]
    message_id: int


@pytest.fixture
async def workers(
    engine: AsyncEngine, telegram: FakeTelegram
) -> AsyncIterator[tuple[_Worker, _Worker]]:
    made = []
    for owner in ("worker-a", "worker-b"):
        session = loopback_session(telegram)
        bot = Bot(token=telegram.token, session=session)
        requests = DatabaseRequests(
            create_session_factory(engine), owner, timedelta(minutes=1), None
        )
        worker = _Worker(requests, bot)
        session.middleware(worker.held)
        made.append(worker)
    made[1].held.release.set()  # the second worker's edits go at once
    yield made[0], made[1]
    for worker in made:
        await worker.bot.session.close()


async def _playlist(sessions: async_sessionmaker[AsyncSession], bot: Bot) -> _Playlist:
    """A chosen playlist of two items, with its status message."""
    message = await bot.send_message(CHAT, "📃 Queued: 2 items")
    async with sessions.begin() as session:
        user = await UserRepository(session).upsert(TelegramUser(CHAT, "Ann"))
        chat = await ChatRepository(session).upsert(TelegramChat(CHAT, "private"), user)
        playlists = PlaylistRepository(session)
        playlist = await playlists.add(
            Playlist(
                chat_id=chat,
                requested_by_id=user,
                request_url="https://example.com/feed.xml",
                title="A list",
                state=RequestState.OFFERED,
                entries=tuple(
                    PlaylistEntry(
                        url=f"https://example.com/{index}.mp4",
                        provider=Provider.GENERIC,
                        media_key=f"generic:{index}",
                    )
                    for index in range(2)
                ),
                status_message_id=message.message_id,
            )
        )
        assert await playlists.choose(playlist.id, MediaKind.AUDIO, None)
        playlist.kind = MediaKind.AUDIO
        items = await playlists.queue_items(playlist, cached=set())
    return _Playlist(playlist.id, [item.id for item in items], message.message_id)


async def _delivered(sessions: async_sessionmaker[AsyncSession], item_id: uuid.UUID) -> None:
    async with sessions.begin() as session:
        assert await RequestRows(session).set_state(item_id, RequestState.DELIVERED)


async def _until_ended(sessions: async_sessionmaker[AsyncSession], playlist_id: uuid.UUID) -> None:
    """Wait for the playlist's row to say it ended."""
    async with asyncio.timeout(10):
        while True:
            async with sessions() as session:
                playlist = await PlaylistRepository(session).get(playlist_id)
                assert playlist is not None
                if playlist.state.is_final:
                    return
            await asyncio.sleep(0.01)


def _edits(telegram: FakeTelegram, playlist: _Playlist) -> list[str]:
    """The texts the playlist's status message was edited to, in order."""
    return [
        call.params["text"]
        for call in telegram.calls_of("editMessageText")
        if call.params.get("message_id") == str(playlist.message_id) and call.ok
    ]


async def _count_held(
    engine: AsyncEngine, first: _Worker, last: _Worker
) -> tuple[_Playlist, asyncio.Task[None]]:
    """The first item delivered and its count allowed, held on its way (by the "pacer");
    the second item delivered. The playlist, and the first item's hand-on."""
    sessions = create_session_factory(engine)
    playlist = await _playlist(sessions, last.bot)
    await _delivered(sessions, playlist.items[0])
    count = asyncio.create_task(first.status(playlist, 0).remove())  # "1 of 2 done…"
    await asyncio.wait_for(first.held.waiting.wait(), 10)
    await _delivered(sessions, playlist.items[1])
    return playlist, count


async def test_an_earlier_items_count_held_back_lands_before_the_last_word(
    engine: AsyncEngine, telegram: FakeTelegram, workers: tuple[_Worker, _Worker]
) -> None:
    first, last = workers
    playlist, count = await _count_held(engine, first, last)
    done = asyncio.create_task(last.status(playlist, 1).remove())  # the last word
    await _until_ended(create_session_factory(engine), playlist.id)
    first.held.release.set()  # the count lands now, after the playlist ended
    await asyncio.wait_for(asyncio.gather(count, done), 10)

    assert _edits(telegram, playlist) == [
        texts.playlist_progress(1, 2),
        texts.playlist_done(2, 2, 0, 0),
    ]


async def test_a_count_held_past_its_window_is_dropped_and_the_last_word_comes_after(
    engine: AsyncEngine, telegram: FakeTelegram, workers: tuple[_Worker, _Worker]
) -> None:
    first, last = workers
    playlist, count = await _count_held(engine, first, last)
    await asyncio.wait_for(last.status(playlist, 1).remove(), 10)
    await asyncio.wait_for(count, 10)  # dropped at the end of its window, never released

    assert _edits(telegram, playlist) == [texts.playlist_done(2, 2, 0, 0)]


async def test_no_progress_is_shown_once_the_playlist_has_ended(
    engine: AsyncEngine, telegram: FakeTelegram, workers: tuple[_Worker, _Worker]
) -> None:
    _, last = workers
    sessions = create_session_factory(engine)
    playlist = await _playlist(sessions, last.bot)
    async with sessions.begin() as session:
        assert await PlaylistRepository(session).end_items(
            playlist.id, RequestState.CANCELLED, "cancelled"
        )
    refused = asyncio.Event()

    async def gate(window_s: float) -> bool:
        allowed = await last.requests.allow_status_edit(playlist.id, window_s)
        if not allowed:
            refused.set()
        return allowed

    message = StatusMessage(last.bot, fast_pacer(), CHAT, playlist.message_id, edit_gate=gate)
    message.show("⬇️ Downloading… 40%")  # a late report of a worker that had not heard yet
    await asyncio.wait_for(refused.wait(), 10)
    assert message.closed, "a status refused by its gate closes itself"
    await message.close()
    assert _edits(telegram, playlist) == []
