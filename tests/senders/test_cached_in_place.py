"""A cached file put in the bot's text message (the offer's keyboard) instead of a new one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.types import FSInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from mediabot.domain.enums import MediaKind
from mediabot.senders.base import SendTarget, SentPart, StaleFileIdError
from mediabot.senders.cached import CachedPart, CachedSender
from mediabot.senders.document import CachedDocumentSender
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources

CHAT = 5151
STORAGE = 5252
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="✖ Cancel", callback_data="x")]]
)


class _Recorder:
    def __init__(self) -> None:
        self.parts: list[SentPart] = []

    async def __call__(self, part: SentPart) -> None:
        self.parts.append(part)


async def _cached_video(bot: Bot, media: MediaSources, *, document: bool = False) -> CachedPart:
    """A file Telegram holds: uploaded once to another chat."""
    path = FSInputFile(Path(media.path(media.progressive_mp4)))
    if document:
        sent = await bot.send_document(STORAGE, path)
        assert sent.document is not None
        return CachedPart(MediaKind.VIDEO, sent.document.file_id, sent.document.file_unique_id)
    sent = await bot.send_video(STORAGE, path)
    assert sent.video is not None
    return CachedPart(MediaKind.VIDEO, sent.video.file_id, sent.video.file_unique_id, 1000)


async def _offer(telegram: FakeTelegram, bot: Bot) -> tuple[int, int]:
    """The user's link and the bot's keyboard replying to it: their message ids."""
    link = telegram.inject_message(CHAT, "https://example.com/v")["message"]["message_id"]
    offer = await bot.send_message(CHAT, "Choose", reply_markup=KEYBOARD, reply_to_message_id=link)
    return link, offer.message_id


def _target(link: int) -> SendTarget:
    return SendTarget.for_media(CHAT, "A clip", "https://example.com/v", link)


async def test_one_file_takes_the_keyboards_place(
    bot: Bot, telegram: FakeTelegram, media: MediaSources
) -> None:
    part = await _cached_video(bot, media)
    link, offer = await _offer(telegram, bot)
    since, recorder = len(telegram.calls), _Recorder()

    sent = await CachedSender(bot, _target(link), [part], on_part=recorder, into=offer).send()

    assert [call.method for call in telegram.calls[since:]] == ["editMessageMedia"]
    assert [(p.message_id, p.file_id, p.total) for p in sent] == [(offer, part.file_id, 1)]
    assert recorder.parts == sent
    [message] = [m for m in telegram.sent_messages(CHAT) if m["message_id"] == offer]
    assert message["video"]["file_id"] == part.file_id and "text" not in message
    assert "reply_markup" not in message and "A clip" in message["caption"]
    assert message["reply_to_message"]["message_id"] == link


async def test_an_edit_refused_sends_the_file_once_as_a_reply(
    bot: Bot, telegram: FakeTelegram, media: MediaSources
) -> None:
    part = await _cached_video(bot, media)
    link, offer = await _offer(telegram, bot)
    telegram.fail_next(
        "editMessageMedia", error_code=400, description="Bad Request: message can't be edited"
    )
    since = len(telegram.calls)

    sent = await CachedSender(bot, _target(link), [part], into=offer).send()

    calls = telegram.calls[since:]
    assert [(call.method, call.ok) for call in calls] == [
        ("editMessageMedia", False),
        ("sendVideo", True),
    ]
    assert json.loads(calls[1].params["reply_parameters"])["message_id"] == link
    assert [p.message_id for p in sent] == [calls[1].result["message_id"]]


async def test_a_file_there_already_counts_as_delivered(
    bot: Bot, telegram: FakeTelegram, media: MediaSources
) -> None:
    """An earlier attempt's edit landed but was not recorded: "not modified", no new file."""
    part = await _cached_video(bot, media)
    link, offer = await _offer(telegram, bot)
    await CachedSender(bot, _target(link), [part], into=offer).send()
    since, recorder = len(telegram.calls), _Recorder()

    sent = await CachedSender(bot, _target(link), [part], on_part=recorder, into=offer).send()

    assert [call.method for call in telegram.calls[since:]] == ["editMessageMedia"]
    assert [(p.message_id, p.file_id) for p in sent] == [(offer, part.file_id)]
    assert recorder.parts == sent


async def test_a_document_stays_a_document(
    bot: Bot, telegram: FakeTelegram, media: MediaSources
) -> None:
    part = await _cached_video(bot, media, document=True)
    link, offer = await _offer(telegram, bot)
    since = len(telegram.calls)

    await CachedDocumentSender(bot, _target(link), [part], into=offer).send()

    [call] = telegram.calls[since:]
    assert call.method == "editMessageMedia" and call.json("media")["type"] == "document"
    [message] = [m for m in telegram.sent_messages(CHAT) if m["message_id"] == offer]
    assert message["document"]["file_id"] == part.file_id


async def test_several_files_never_go_into_the_message(
    bot: Bot, telegram: FakeTelegram, media: MediaSources
) -> None:
    part = await _cached_video(bot, media)
    parts = [
        CachedPart(part.kind, part.file_id, part.file_unique_id, 1, start_s=s, end_s=s + 1)
        for s in (0.0, 1.0)
    ]
    link, offer = await _offer(telegram, bot)
    since = len(telegram.calls)

    await CachedSender(bot, _target(link), parts, into=offer).send()

    assert [call.method for call in telegram.calls[since:]] == ["sendVideo", "sendVideo"]


async def test_a_stale_file_id_leaves_the_message_and_sends_nothing(
    bot: Bot, telegram: FakeTelegram
) -> None:
    link, offer = await _offer(telegram, bot)
    stale = CachedPart(MediaKind.VIDEO, "BAACAgIAAxkDAAno-longer-valid")
    since = len(telegram.calls)
    with pytest.raises(StaleFileIdError):
        await CachedSender(bot, _target(link), [stale], into=offer).send()
    assert [call.method for call in telegram.calls[since:]] == ["editMessageMedia"]
    [message] = [m for m in telegram.sent_messages(CHAT) if m["message_id"] == offer]
    assert message["text"] == "Choose"
