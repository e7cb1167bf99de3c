"""A lookup's answer on the fake Bot API with a database that fails on cue: a link whose
offer cannot be recorded is told so, the others get their keyboards, and nothing already
shown is answered again (`TelegramReplies.answer` raises only before any send)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from aiogram import Bot
from asyncpg.exceptions import TooManyConnectionsError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mediabot.bot import texts
from mediabot.bot.offers import OfferView
from mediabot.db.models import LookupRequest
from mediabot.db.repositories import ChatRepository, TelegramChat, TelegramUser, UserRepository
from mediabot.domain.enums import Provider
from mediabot.domain.lookups import Found, LookupKind, Outcome
from mediabot.domain.media import MediaOptions, Resolution
from mediabot.telegram.alerts import AdminAlerts
from mediabot.worker.lookup_replies import TelegramReplies
from tests.support.fake_telegram import FakeTelegram

CHAT = 820_000_001


class FailingSessions(async_sessionmaker[AsyncSession]):
    """Sessions whose opening fails, as with PostgreSQL out of connection slots, on the
    calls numbered in `failing` (from 1)."""

    def __init__(self, engine: AsyncEngine, failing: set[int]) -> None:
        super().__init__(engine, expire_on_commit=False)
        self.failing = failing
        self.calls = 0

    def __call__(self, **local_kw: Any) -> AsyncSession:
        self.calls += 1
        if self.calls in self.failing:
            raise DBAPIError("BEGIN", {}, TooManyConnectionsError("too many clients already"))
        return super().__call__(**local_kw)


def _found(url: str) -> Found:
    return Found(
        MediaOptions(
            url=url,
            provider=Provider.GENERIC,
            media_key=url,
            title="A video",
            resolutions=(Resolution(360, 1000),),
        )
    )


async def _request(engine: AsyncEngine, kind: LookupKind, *urls: str) -> LookupRequest:
    async with AsyncSession(engine) as session:
        user_id = await UserRepository(session).upsert(TelegramUser(CHAT, "Ann"))
        chat_id = await ChatRepository(session).upsert(TelegramChat(CHAT, "private"), user_id)
        await session.commit()
    return LookupRequest(
        id=uuid.uuid4(),
        kind=kind,
        telegram_chat_id=CHAT,
        chat_id=chat_id,
        user_id=user_id,
        inline_query_id="query-1" if kind == LookupKind.INLINE else None,
        urls=list(urls),
        locale="en",
        created_at=time.time(),
    )


def _replies(bot: Bot, sessions: FailingSessions) -> TelegramReplies:
    return TelegramReplies(bot, sessions, OfferView(), AdminAlerts(()), storage_chat_id=CHAT)


def _shown(telegram: FakeTelegram) -> list[tuple[str, bool]]:
    """Each message the bot sent: its text, and whether it has buttons."""
    return [
        (call.params["text"], "inline_keyboard" in call.params.get("reply_markup", ""))
        for call in telegram.calls_of("sendMessage")
    ]


async def test_a_link_whose_offer_cannot_be_recorded_is_told_so(
    sqlite_engine: AsyncEngine, telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    """The database refused the first link's offer: that link once got no answer at all."""
    first, second = "https://a.example/1", "https://a.example/2"
    request = await _request(sqlite_engine, LookupKind.MESSAGE, first, second)
    sessions = FailingSessions(sqlite_engine, failing={1})
    await _replies(telegram_bot, sessions).answer(request, [_found(first), _found(second)])
    [(told, told_buttons), (offer, offer_buttons)] = _shown(telegram)
    assert (told, told_buttons) == (texts.lookup_failed(), False)
    assert offer_buttons and texts.lookup_failed() not in offer


async def test_a_link_shown_already_is_not_told_of_a_later_failure(
    sqlite_engine: AsyncEngine, telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    """Recording the message that shows the offer failed after it was sent: the keyboard
    stays the link's one answer, and nothing is raised (the claim is not given back)."""
    url = "https://a.example/shown"
    request = await _request(sqlite_engine, LookupKind.MESSAGE, url)
    sessions = FailingSessions(sqlite_engine, failing={2})  # 1: the offer, 2: its message
    await _replies(telegram_bot, sessions).answer(request, [_found(url)])
    assert sessions.calls == 2
    [(_, buttons)] = _shown(telegram)
    assert buttons


async def test_an_inline_answer_fails_only_before_it_is_sent(
    sqlite_engine: AsyncEngine, telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    url = "https://a.example/inline"
    request = await _request(sqlite_engine, LookupKind.INLINE, url)
    outcomes: list[Outcome | None] = [_found(url)]
    sessions = FailingSessions(sqlite_engine, failing={1})  # the cache read
    with pytest.raises(DBAPIError):
        await _replies(telegram_bot, sessions).answer(request, outcomes)
    assert telegram.calls_of("answerInlineQuery") == []
