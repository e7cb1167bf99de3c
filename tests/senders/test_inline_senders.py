"""Deliveries into an inline message against the fake Bot API: a cached file put in by its
id (nothing sent to any chat), parts leaving a link to the private chat, stale file ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)

from mediabot.domain.enums import MediaKind
from mediabot.senders.base import InlinePlace, SendTarget, SentPart
from mediabot.senders.cached import CachedPart, StaleFileIdError
from mediabot.senders.inline import InlineCachedSender, InlineSender
from tests.support.fake_telegram import FakeTelegram

STORAGE = -100_9191
LINK = "https://t.me/mediabot_test_bot?start=inline_x"


async def _placeholder(telegram: FakeTelegram, bot: Bot) -> str:
    query = telegram.inject_inline_query(5151, "https://example.com/v")
    await bot.answer_inline_query(
        query,
        [
            InlineQueryResultArticle(
                id="v",
                title="720p",
                input_message_content=InputTextMessageContent(message_text="⏳ Fetching…"),
                reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=[[InlineKeyboardButton(text="bot", url="https://t.me/x")]]
                ),
            )
        ],
    )
    place = telegram.choose_inline_result(query, "v")
    assert place is not None
    return place


def _target(place: str) -> SendTarget:
    inline = InlinePlace(place, "📦 Too large", "📥 Private chat", LINK)
    return SendTarget.for_media(STORAGE, "Clip", "https://example.com/v", inline=inline)


async def _stored(bot: Bot, tmp_path: Path) -> CachedPart:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(bytes(range(256)) * 64)
    sent = await bot.send_video(STORAGE, FSInputFile(clip), width=640, height=360)
    assert sent.video is not None
    return CachedPart(MediaKind.VIDEO, sent.video.file_id, sent.video.file_unique_id, 16384)


async def test_a_cached_file_is_put_in_the_inline_message_by_its_id(
    telegram: FakeTelegram, telegram_bot: Bot, tmp_path: Path
) -> None:
    part = await _stored(telegram_bot, tmp_path)
    place = await _placeholder(telegram, telegram_bot)
    recorded: list[SentPart] = []

    async def record(sent: SentPart) -> None:
        recorded.append(sent)

    before = len(telegram.calls)
    sent = await InlineCachedSender(telegram_bot, _target(place), [part], on_part=record).send()
    message = telegram.inline_message(place)
    assert message["video"]["file_id"] == part.file_id and "Clip" in message["caption"]
    assert [call.method for call in telegram.calls[before:]] == ["editMessageMedia"]
    assert recorded == list(sent) and sent[0].file_id == part.file_id


async def test_parts_leave_the_way_to_the_private_chat(
    telegram: FakeTelegram, telegram_bot: Bot, tmp_path: Path
) -> None:
    part = await _stored(telegram_bot, tmp_path)
    place = await _placeholder(telegram, telegram_bot)
    parts = [part, CachedPart(MediaKind.VIDEO, part.file_id, part.file_unique_id, 1, 0.0, 5.0)]
    await InlineCachedSender(telegram_bot, _target(place), parts).send()
    message = telegram.inline_message(place)
    assert message["text"] == "📦 Too large"
    assert message["reply_markup"]["inline_keyboard"][0][0]["url"] == LINK


async def test_a_stale_file_id_is_told_apart(telegram: FakeTelegram, telegram_bot: Bot) -> None:
    place = await _placeholder(telegram, telegram_bot)
    stale = CachedPart(MediaKind.VIDEO, "BAACAgIAAxkBAAI-no-such-file")
    with pytest.raises(StaleFileIdError):
        await InlineCachedSender(telegram_bot, _target(place), [stale]).send()
    assert telegram.inline_message(place)["text"] == "⏳ Fetching…"


class _Resumed:
    """An upload resumed after part 1 of 2: it returns only this run's part 2."""

    def __init__(self, part: CachedPart) -> None:
        self._part = part

    async def send(self) -> list[SentPart]:
        part = self._part
        return [
            SentPart(1, 2, part.kind, part.file_id, part.file_unique_id, 0, part.size_bytes or 0)
        ]


async def test_a_resumed_delivery_never_turns_the_message_into_its_last_part(
    telegram: FakeTelegram, telegram_bot: Bot, tmp_path: Path
) -> None:
    part = await _stored(telegram_bot, tmp_path)
    place = await _placeholder(telegram, telegram_bot)
    await InlineSender(telegram_bot, _target(place), _Resumed(part)).send()
    message = telegram.inline_message(place)
    assert "video" not in message and message["text"] == "📦 Too large"
    assert json.dumps(message["reply_markup"]).count(LINK) == 1
