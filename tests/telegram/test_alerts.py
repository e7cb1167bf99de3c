"""Warnings to the admins: one per hour per kind, to every admin."""

from __future__ import annotations

from aiogram import Bot

from mediabot.telegram.alerts import AdminAlerts
from support.clock import FakeClock
from support.fake_telegram import FakeTelegram


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
