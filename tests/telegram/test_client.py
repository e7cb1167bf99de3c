"""The bot `create_bot` builds: a retry after a 429 waits for the pacer like any message,
and the models Telegram's answers are read with are built once."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import DeleteMessage, SendMessage
from aiogram.methods.base import Response
from aiogram.types import Message

from mediabot.config import load_settings
from mediabot.telegram.client import create_bot
from mediabot.telegram.pacing import Pacer
from tests.support.fake_telegram import FakeTelegram


class _CountingPacer(Pacer):
    def __init__(self) -> None:
        super().__init__()
        self.acquired: list[int] = []

    async def acquire(self, chat_id: int, weight: int = 1) -> None:
        self.acquired.append(chat_id)
        await super().acquire(chat_id, weight)


async def test_a_retry_after_flood_control_goes_through_the_pacer_again(
    telegram: FakeTelegram,
) -> None:
    pacer = _CountingPacer()
    settings = load_settings(bot_token=telegram.token, telegram_api_url=telegram.base_url)
    bot = create_bot(settings, pacer=pacer)
    try:
        telegram.fail_next("sendMessage", retry_after=1)
        await bot.send_message(chat_id=5, text="hello")
    finally:
        await bot.session.close()
    assert [call.status for call in telegram.calls_of("sendMessage")] == [429, 200]
    # Unpaced, the retries of many chats fire together the moment their waits end.
    assert pacer.acquired == [5, 5]


async def test_the_models_answers_are_read_with_outlive_a_garbage_collection(
    telegram: FakeTelegram,
) -> None:
    settings = load_settings(bot_token=telegram.token, telegram_api_url=telegram.base_url)
    bot = create_bot(settings, pacer=Pacer())
    try:
        sent = await bot.send_message(chat_id=7, text="hello")
        await bot.delete_message(chat_id=7, message_id=sent.message_id)
    finally:
        await bot.session.close()
    models: list[weakref.ref[type]] = [
        weakref.ref(Response[Message]),  # what sendMessage answers
        weakref.ref(Response[bool]),  # what deleteMessage answers
    ]
    assert SendMessage.__returning__ is Message and DeleteMessage.__returning__ is bool
    gc.collect()
    # pydantic holds them weakly: built again for every answer if nothing else does.
    assert all(model() is not None for model in models)
