"""Warnings to the admins: one per hour per kind for the whole fleet, in each admin's language."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.engine import create_session_factory
from mediabot.db.repositories import TelegramUser, UserRepository
from mediabot.downloaders.errors import (
    InstagramLoginError,
    InstagramRateLimitError,
    YouTubeAgeRestrictedError,
    YouTubeBotCheckError,
)
from mediabot.i18n import use_locale
from mediabot.telegram.alerts import AdminAlerts, Languages, push_back_warning
from tests.support.clock import FakeClock
from tests.support.fake_telegram import FakeTelegram
from tests.support.fleet import age_admin_alerts, alert_ledger, fleet_engines


def _warnings(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [
        call.params["text"]
        for call in telegram.calls_of("sendMessage")
        if call.params.get("chat_id") == str(chat_id) and call.ok
    ]


async def test_one_warning_per_hour_per_kind(telegram: FakeTelegram, telegram_bot: Bot) -> None:
    clock = FakeClock()
    alerts = AdminAlerts((501, 502), clock=clock)
    assert await alerts.warn(telegram_bot, "youtube_bot_check", "⚠️ <b>cookies</b>") == 2
    clock.now += 3599
    assert await alerts.warn(telegram_bot, "youtube_bot_check", "again") == 0
    assert await alerts.warn(telegram_bot, "instagram_login", "login") == 2
    clock.now += 1
    assert await alerts.warn(telegram_bot, "youtube_bot_check", "an hour on") == 2
    assert _warnings(telegram, 501) == ["⚠️ <b>cookies</b>", "login", "an hour on"]
    assert {call.params["parse_mode"] for call in telegram.calls_of("sendMessage")} == {"HTML"}
    assert _warnings(telegram, 502) == _warnings(telegram, 501)


async def test_an_admin_telegram_refuses_does_not_keep_the_others_untold(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    telegram.block_chat(601)
    alerts = AdminAlerts((601, 602))
    assert await alerts.warn(telegram_bot, "instagram_rate_limit", "slow down") == 1
    assert _warnings(telegram, 602) == ["slow down"]


async def test_without_admins_nothing_is_sent(telegram: FakeTelegram, telegram_bot: Bot) -> None:
    assert await AdminAlerts(()).warn(telegram_bot, "youtube_age", "x") == 0
    assert telegram.calls_of("sendMessage") == []


@pytest.fixture
async def engines(make_pg_database: Callable[[], str]) -> AsyncIterator[list[AsyncEngine]]:
    """A migrated PostgreSQL database, and an engine on it per process (two)."""
    async with fleet_engines(make_pg_database, 2) as engines:
        yield engines


async def test_two_processes_warn_once_per_kind_per_hour_between_them(
    telegram: FakeTelegram,
    telegram_bot: Bot,
    engines: list[AsyncEngine],
) -> None:
    processes = [AdminAlerts((801, 802), ledger=alert_ledger(engine)) for engine in engines]
    errors = [YouTubeBotCheckError(), InstagramLoginError()]

    async def everyone_warns() -> int:
        warned = await asyncio.gather(
            *(
                alerts.warn_push_back(telegram_bot, error)
                for alerts in processes * 3
                for error in errors
            )
        )
        return sum(warned)

    assert await everyone_warns() == 2 * 2  # each kind once, to both admins
    await age_admin_alerts(engines[0], 3599)
    assert await everyone_warns() == 0
    await age_admin_alerts(engines[0], 1)
    assert await everyone_warns() == 2 * 2
    texts = _warnings(telegram, 801)
    assert len(texts) == 4
    assert sum("YOUTUBE_COOKIES_FILE" in warning for warning in texts) == 2
    assert sum("INSTAGRAM_COOKIES_FILE" in warning for warning in texts) == 2
    assert _warnings(telegram, 802) == texts


async def test_each_admin_is_warned_in_their_language(
    telegram: FakeTelegram,
    telegram_bot: Bot,
    engines: list[AsyncEngine],
) -> None:
    async with create_session_factory(engines[0]).begin() as session:
        users = UserRepository(session)
        chose = await users.upsert(TelegramUser(901, language_code="en"))
        await users.set_language(chose, "ru")  # /language wins over Telegram's
        await users.upsert(TelegramUser(902, language_code="ru-RU"))
        await users.upsert(TelegramUser(903, language_code="de"))
    alerts = AdminAlerts((901, 902, 903, 904), ledger=alert_ledger(engines[1]))
    error = YouTubeAgeRestrictedError()
    assert await alerts.warn_push_back(telegram_bot, error) == 4
    with use_locale("ru"):
        russian = push_back_warning(error)
    with use_locale("en"):
        english = push_back_warning(error)
    assert russian != english and "YOUTUBE_COOKIES_FILE" in russian
    assert [_warnings(telegram, admin) for admin in (901, 902, 903, 904)] == [
        [russian],
        [russian],
        [english],  # a language the bot does not speak
        [english],  # never talked to the bot
    ]


class _Unreachable:
    """A ledger whose database is down, or never answers."""

    def __init__(self, *, hangs: bool) -> None:
        self._hangs = hangs

    async def claim(self, kind: str, interval_s: float) -> bool:
        return await self._fail()

    async def languages(self, telegram_ids: Sequence[int]) -> Languages:
        return await self._fail()

    async def _fail(self) -> Any:
        if self._hangs:
            await asyncio.Event().wait()
        raise ConnectionRefusedError("the database is down")


@pytest.mark.parametrize("hangs", [False, True], ids=["down", "hangs"])
async def test_without_its_database_a_process_still_warns_once_an_hour_in_english(
    telegram: FakeTelegram, telegram_bot: Bot, hangs: bool
) -> None:
    clock = FakeClock()
    ledger = _Unreachable(hangs=hangs)
    alerts = AdminAlerts((951,), ledger=ledger, clock=clock, ledger_timeout_s=0.2)
    error = InstagramRateLimitError()
    assert await alerts.warn_push_back(telegram_bot, error) == 1
    assert await alerts.warn_push_back(telegram_bot, error) == 0
    clock.now += 3600
    assert await alerts.warn_push_back(telegram_bot, error) == 1
    with use_locale("en"):
        assert _warnings(telegram, 951) == [push_back_warning(error)] * 2
