"""The fake Bot API against the real aiogram client: uploads, file ids, errors, polling."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaAudio,
    InputMediaVideo,
    Message,
    ReplyParameters,
)

from tests.support.fake_telegram import NOT_MODIFIED, WRONG_FILE_ID, FakeTelegram
from tests.support.media import PROGRESSIVE_SIZE, MediaSources

CHAT = 4242
CLIP = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit: not a round size


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(CLIP)
    return path


async def _read(path: Path) -> bytes:
    return await asyncio.to_thread(path.read_bytes)


async def test_upload_is_stored_byte_identical(
    telegram: FakeTelegram, telegram_bot: Bot, video_file: Path
) -> None:
    cover = video_file.with_name("cover.jpg")
    cover.write_bytes(b"\xff\xd8 not really a jpeg")
    sent = await telegram_bot.send_video(
        CHAT,
        FSInputFile(video_file),
        width=640,
        height=360,
        duration=6,
        supports_streaming=True,
        thumbnail=FSInputFile(cover),
    )

    assert sent.video is not None
    assert (sent.video.width, sent.video.height, sent.video.duration) == (640, 360, 6)
    assert sent.video.file_size == len(CLIP)
    assert await _read(telegram.uploaded_path(sent.video.file_id)) == CLIP
    [call] = telegram.calls_of("sendVideo")
    upload = call.file("video")
    assert upload is not None and upload.filename == "clip.mp4"
    [media] = telegram.sent_media(CHAT)
    assert (media.uploaded, media.supports_streaming, media.width) == (True, True, 640)
    assert media.has_thumbnail and sent.video.thumbnail is not None


async def test_known_file_id_is_sent_without_upload(
    telegram: FakeTelegram, telegram_bot: Bot, video_file: Path
) -> None:
    first = await telegram_bot.send_video(CHAT, FSInputFile(video_file))
    assert first.video is not None

    again = await telegram_bot.send_video(CHAT + 1, first.video.file_id)

    assert again.video is not None
    assert again.video.file_unique_id == first.video.file_unique_id
    assert telegram.calls_of("sendVideo")[-1].files == {}
    assert [m.uploaded for m in telegram.sent_media()] == [True, False]


async def test_unknown_file_id_is_a_bad_request(telegram_bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await telegram_bot.send_video(CHAT, "BAACAgIAAxkDAAInvented")


async def test_fail_next_429_is_retry_after(telegram: FakeTelegram, telegram_bot: Bot) -> None:
    telegram.fail_next("sendMessage", retry_after=3)

    with pytest.raises(TelegramRetryAfter) as raised:
        await telegram_bot.send_message(CHAT, "hello")
    assert raised.value.retry_after == 3
    assert (await telegram_bot.send_message(CHAT, "hello")).message_id == 1
    assert [call.status for call in telegram.calls_of("sendMessage")] == [429, 200]


async def test_fail_next_for_one_chat_spares_the_others(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    telegram.fail_next("sendMessage", retry_after=200, chat_id=CHAT + 1)
    telegram.fail_next("sendMessage", retry_after=1)

    with pytest.raises(TelegramRetryAfter) as other:
        await telegram_bot.send_message(CHAT, "first")  # the failure for any chat
    assert other.value.retry_after == 1
    await telegram_bot.send_message(CHAT, "second")
    with pytest.raises(TelegramRetryAfter) as own:
        await telegram_bot.send_message(CHAT + 1, "third")
    assert own.value.retry_after == 200
    await telegram_bot.send_message(CHAT + 1, "fourth")


async def test_upload_over_the_limit_is_entity_too_large(
    telegram: FakeTelegram, telegram_bot: Bot, video_file: Path
) -> None:
    telegram.upload_limit_bytes = 1024 * 1024

    with pytest.raises(TelegramEntityTooLarge):
        await telegram_bot.send_video(CHAT, FSInputFile(video_file))
    [call] = telegram.calls_of("sendVideo")
    upload = call.file("video")
    assert upload is not None and upload.size == len(CLIP)
    assert not upload.path.exists()
    assert telegram.sent_media() == []


async def test_long_polling_returns_an_injected_update_promptly(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    poll = asyncio.create_task(telegram_bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    started = time.monotonic()
    injected = telegram.inject_message(CHAT, "https://youtu.be/abc")

    [update] = await asyncio.wait_for(poll, 5)

    assert time.monotonic() - started < 1
    assert update.update_id == injected["update_id"]
    assert update.message is not None and update.message.text == "https://youtu.be/abc"
    assert [e.type for e in update.message.entities or []] == ["url"]
    # Not confirmed yet: returned again; confirmed by offset: gone.
    assert len(await telegram_bot.get_updates(timeout=0)) == 1
    assert await telegram_bot.get_updates(offset=update.update_id + 1, timeout=0) == []


async def test_a_second_poller_ends_the_first_with_a_conflict(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    first = asyncio.create_task(telegram_bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(telegram_bot.get_updates(timeout=5))

    with pytest.raises(TelegramConflictError):
        await asyncio.wait_for(first, 5)
    telegram.inject_message(CHAT, "hi")
    assert len(await asyncio.wait_for(second, 5)) == 1


async def test_edit_to_the_same_content_is_not_modified(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="720p", callback_data="q:720")]]
    )
    sent = await telegram_bot.send_message(CHAT, "<b>Choose</b>", parse_mode="HTML")
    await telegram_bot.edit_message_text(
        "<b>Choose</b>",
        chat_id=CHAT,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard,
    )

    with pytest.raises(TelegramBadRequest) as raised:
        await telegram_bot.edit_message_reply_markup(
            chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard
        )
    assert raised.value.message == NOT_MODIFIED
    [message] = telegram.sent_messages(CHAT)
    assert message["text"] == "Choose"
    assert message["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "q:720"


async def test_telegram_refusals(telegram: FakeTelegram, telegram_bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await telegram_bot.send_message(CHAT, "a <video> title", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="reserved"):
        await telegram_bot.send_message(CHAT, "Done.", parse_mode="MarkdownV2")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await telegram_bot.send_message(CHAT, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        button = InlineKeyboardButton(text="x", callback_data="d" * 65)
        await telegram_bot.send_message(
            CHAT, "x", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await telegram_bot.edit_message_text("x", chat_id=CHAT, message_id=99)
    telegram.block_chat(CHAT)
    with pytest.raises(TelegramForbiddenError):
        await telegram_bot.send_message(CHAT, "x")


async def test_media_group_uploads_every_attached_file(
    telegram: FakeTelegram, telegram_bot: Bot, video_file: Path
) -> None:
    media = [InputMediaVideo(media=FSInputFile(video_file), caption=f"part {n}") for n in (1, 2)]

    messages = await telegram_bot.send_media_group(CHAT, media)

    assert [m.caption for m in messages] == ["part 1", "part 2"]
    assert len({m.media_group_id for m in messages}) == 1
    assert len(telegram.calls_of("sendMediaGroup")[0].files) == 2
    assert [m.message_id for m in telegram.sent_media(CHAT)] == [1, 2]
    with pytest.raises(TelegramBadRequest, match="Too much messages"):
        await telegram_bot.send_media_group(CHAT, media * 6)


async def test_a_text_message_is_edited_into_a_file_and_keeps_its_reply(
    telegram: FakeTelegram, telegram_bot: Bot, video_file: Path
) -> None:
    """As Telegram does since Bot API 9: media added to a text message, which keeps what it
    replies to and loses its keyboard; what Telegram refuses is refused."""
    link = telegram.inject_message(CHAT, "https://example.com/v")["message"]["message_id"]
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="720p", callback_data="q:720")]]
    )
    offer = await telegram_bot.send_message(
        CHAT, "Choose", reply_markup=keyboard, reply_parameters=ReplyParameters(message_id=link)
    )
    stored = await telegram_bot.send_video(CHAT + 1, FSInputFile(video_file))
    assert stored.video is not None
    video = InputMediaVideo(media=stored.video.file_id, caption="<b>Clip</b>", parse_mode="HTML")

    edited = await telegram_bot.edit_message_media(video, chat_id=CHAT, message_id=offer.message_id)

    assert isinstance(edited, Message) and edited.video is not None
    assert edited.message_id == offer.message_id and edited.caption == "Clip"
    assert edited.text is None and edited.reply_markup is None
    assert edited.reply_to_message is not None and edited.reply_to_message.message_id == link
    assert [(m.method, m.uploaded) for m in telegram.sent_media(CHAT)] == [
        ("editMessageMedia", False)
    ]
    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await telegram_bot.edit_message_media(video, chat_id=CHAT, message_id=offer.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await telegram_bot.edit_message_media(video, chat_id=CHAT + 2, message_id=offer.message_id)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await telegram_bot.edit_message_media(video, chat_id=CHAT, message_id=link)


async def test_an_albums_item_keeps_its_albums_kind(
    telegram: FakeTelegram, telegram_bot: Bot, video_file: Path
) -> None:
    album = await telegram_bot.send_media_group(
        CHAT, [InputMediaVideo(media=FSInputFile(video_file)) for _ in range(2)]
    )
    audio = await telegram_bot.send_audio(CHAT + 1, FSInputFile(video_file))
    assert audio.audio is not None
    with pytest.raises(TelegramBadRequest, match="MEDIA_GROUP_EDIT_FORBIDDEN"):
        await telegram_bot.edit_message_media(
            InputMediaAudio(media=audio.audio.file_id), chat_id=CHAT, message_id=album[0].message_id
        )


async def test_file_uri_only_in_local_mode(
    telegram: FakeTelegram, telegram_bot: Bot, video_file: Path
) -> None:
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await telegram_bot.send_document(CHAT, video_file.as_uri())

    telegram.local_mode = True
    api = TelegramAPIServer.from_base(telegram.base_url, is_local=True)
    async with Bot(telegram.token, session=AiohttpSession(api=api)) as local_bot:
        sent = await local_bot.send_document(CHAT, video_file.as_uri())
    assert sent.document is not None
    assert await _read(telegram.uploaded_path(sent.document.file_id)) == CLIP
    assert WRONG_FILE_ID.startswith("Bad Request")


async def test_rate_limiter_refuses_a_burst(telegram: FakeTelegram, telegram_bot: Bot) -> None:
    telegram.enforce_rate_limits = True

    results = []
    for n in range(5):
        try:
            results.append((await telegram_bot.send_message(CHAT, f"m{n}")).message_id)
        except TelegramRetryAfter as error:
            results.append(-error.retry_after)

    assert results == [1, 2, 3, -1, -1]
    assert telegram.flood_violations == 2


@pytest.mark.integration
async def test_video_facts_are_probed_when_not_given(
    telegram_bot: Bot, media: MediaSources
) -> None:
    sent = await telegram_bot.send_video(CHAT, FSInputFile(media.path(media.progressive_mp4)))

    assert sent.video is not None
    assert (sent.video.width, sent.video.height, sent.video.duration) == (*PROGRESSIVE_SIZE, 6)


async def test_a_dispatcher_polls_answers_and_edits(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    router = Router()

    @router.message(F.text)
    async def offer(message: Message) -> None:
        button = InlineKeyboardButton(text="Audio", callback_data="audio")
        await message.answer(
            "Pick one", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]])
        )

    @router.callback_query(F.data == "audio")
    async def chosen(query: CallbackQuery) -> None:
        await query.answer()
        assert isinstance(query.message, Message)
        await query.message.edit_text("Audio it is")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(
        dispatcher.start_polling(telegram_bot, handle_signals=False, polling_timeout=5)
    )
    try:
        telegram.inject_message(CHAT, "https://youtu.be/abc")
        offered = await telegram.wait_for(lambda c: c.method == "sendMessage" and c.ok)
        telegram.inject_callback(CHAT, offered.result["message_id"], "audio")
        await telegram.wait_for(lambda c: c.method == "editMessageText" and c.ok)
    finally:
        await dispatcher.stop_polling()
        await polling

    assert [m["text"] for m in telegram.sent_messages(CHAT)] == ["Audio it is"]
    assert telegram.calls_of("answerCallbackQuery")[0].ok
