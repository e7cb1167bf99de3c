"""The fake Bot API's inline mode against the real aiogram client: inline queries and their
answers checked as Telegram checks them, chosen results, inline messages edited."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedAudio,
    InlineQueryResultCachedVideo,
    InputMediaVideo,
    InputTextMessageContent,
)

from tests.support.fake_telegram import QUERY_TOO_OLD, WRONG_FILE_ID, FakeTelegram

USER = 4343
STORAGE = -100_4343


def _article(result_id: str, markup: bool = True) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title="720p",
        input_message_content=InputTextMessageContent(message_text="⏳ Fetching…"),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="✖", callback_data="x")]]
        )
        if markup
        else None,
    )


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(bytes(range(256)) * 64)
    return path


async def test_an_answered_query_posts_the_chosen_result_and_reports_it(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    query = telegram.inject_inline_query(USER, "https://youtu.be/abc")
    [update] = await telegram_bot.get_updates(timeout=0)
    assert update.inline_query is not None and update.inline_query.id == query
    assert update.inline_query.query == "https://youtu.be/abc"
    assert await telegram_bot.answer_inline_query(query, [_article("v:720"), _article("a", False)])

    inline_message_id = telegram.choose_inline_result(query, "v:720")
    assert inline_message_id is not None
    assert telegram.inline_message(inline_message_id)["text"] == "⏳ Fetching…"
    updates = await telegram_bot.get_updates(offset=update.update_id + 1, timeout=0)
    chosen = updates[0].chosen_inline_result
    assert chosen is not None and chosen.result_id == "v:720"
    assert chosen.inline_message_id == inline_message_id and chosen.from_user.id == USER
    # A result without a keyboard gets no inline message id, as on Telegram.
    assert telegram.choose_inline_result(query, "a") is None


async def test_without_inline_feedback_no_chosen_result_comes(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    telegram.inline_feedback = False
    query = telegram.inject_inline_query(USER, "x")
    await telegram_bot.answer_inline_query(query, [_article("v:720")])
    assert telegram.choose_inline_result(query, "v:720") is not None
    assert [u.inline_query is not None for u in await telegram_bot.get_updates(timeout=0)] == [True]


async def test_answers_are_checked_as_telegram_checks_them(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    refusals = {
        "RESULTS_TOO_MUCH": [_article(str(n)) for n in range(51)],
        "RESULT_ID_INVALID": [_article("x" * 65)],
        "RESULT_ID_DUPLICATE": [_article("a"), _article("a")],
        WRONG_FILE_ID: [InlineQueryResultCachedVideo(id="c", video_file_id="nope", title="t")],
    }
    for expected, results in refusals.items():
        query = telegram.inject_inline_query(USER, "x")
        with pytest.raises(TelegramBadRequest) as caught:
            await telegram_bot.answer_inline_query(query, results)
        assert expected.removeprefix("Bad Request: ") in caught.value.message
    # 50 results with 64-byte ids are fine; a second answer to one query is not.
    query = telegram.inject_inline_query(USER, "x")
    assert await telegram_bot.answer_inline_query(
        query, [_article(f"{n:02d}".ljust(64, "x")) for n in range(50)]
    )
    with pytest.raises(TelegramBadRequest) as caught:
        await telegram_bot.answer_inline_query(query, [_article("a")])
    assert QUERY_TOO_OLD.removeprefix("Bad Request: ") in caught.value.message
    with pytest.raises(TelegramBadRequest):
        await telegram_bot.answer_inline_query("12345", [_article("a")])


async def test_cached_results_take_file_ids_of_their_kind(
    telegram: FakeTelegram, telegram_bot: Bot, clip: Path
) -> None:
    sent = await telegram_bot.send_video(
        STORAGE, FSInputFile(clip), width=640, height=360, duration=6
    )
    assert sent.video is not None
    file_id = sent.video.file_id
    query = telegram.inject_inline_query(USER, "x")
    with pytest.raises(TelegramBadRequest):  # a video's file id is not an audio's
        await telegram_bot.answer_inline_query(
            query, [InlineQueryResultCachedAudio(id="a", audio_file_id=file_id)]
        )
    query = telegram.inject_inline_query(USER, "x")
    await telegram_bot.answer_inline_query(
        query, [InlineQueryResultCachedVideo(id="v", video_file_id=file_id, title="Clip")]
    )
    assert telegram.choose_inline_result(query, "v") is None  # no keyboard: no message id
    assert telegram.inline_results(query) is not None


async def test_an_inline_message_is_edited_into_a_file_by_its_id(
    telegram: FakeTelegram, telegram_bot: Bot, clip: Path
) -> None:
    query = telegram.inject_inline_query(USER, "x")
    await telegram_bot.answer_inline_query(query, [_article("v:720")])
    inline_message_id = telegram.choose_inline_result(query, "v:720")
    assert inline_message_id is not None

    edited = await telegram_bot.edit_message_text(
        "⬇️ Downloading… 40%", inline_message_id=inline_message_id
    )
    assert edited is True
    assert telegram.inline_message(inline_message_id)["text"] == "⬇️ Downloading… 40%"
    # A new upload cannot go into an inline message; a file id sent elsewhere can.
    with pytest.raises(TelegramBadRequest):
        await telegram_bot.edit_message_media(
            InputMediaVideo(media=FSInputFile(clip)), inline_message_id=inline_message_id
        )
    stored = await telegram_bot.send_video(STORAGE, FSInputFile(clip), width=640, height=360)
    assert stored.video is not None
    assert await telegram_bot.edit_message_media(
        InputMediaVideo(media=stored.video.file_id, caption="Clip"),
        inline_message_id=inline_message_id,
    )
    message = telegram.inline_message(inline_message_id)
    assert message["video"]["file_id"] == stored.video.file_id
    assert message["caption"] == "Clip" and "text" not in message
    with pytest.raises(TelegramBadRequest):
        await telegram_bot.edit_message_text("x", inline_message_id="no-such-message")
