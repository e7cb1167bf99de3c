"""End to end: /settings in both languages, and files "as a file" with the source's streams.

`mediabot run` against the fake Bot API, with a 2 MiB upload limit, so the long source
arrives in parts. Each test talks in a chat of its own (a user of its own).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.conversation import Conversation, Keyboard, buttons_of
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media import MediaSources
from tests.support.processes import MediabotProcess, mediabot_run
from tests.support.streams import packet_hashes, stream_hashes

LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("settings")
    with mediabot_run(fake_telegram, data_dir, TELEGRAM_UPLOAD_LIMIT_MB="2") as process:
        yield process


async def _settings(chat: Conversation) -> tuple[ApiCall, Keyboard]:
    since = chat.say("/settings")
    shown = await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendMessage" and call.ok,
        since=since,
    )
    return shown, Keyboard(int(shown.result["message_id"]), buttons_of(shown))


async def _press_setting(chat: Conversation, keyboard: Keyboard, label: str) -> ApiCall:
    """Press the settings button `label`; the settings shown again after it."""
    since = chat.press(keyboard, keyboard.data(label))
    return await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "editMessageText" and call.ok,
        since=since,
    )


async def _as_a_file(chat: Conversation) -> None:
    _, keyboard = await _settings(chat)
    edited = await _press_setting(chat, keyboard, "📄")
    assert "✓ 📄 As a file" in buttons_of(edited)


async def _fetch(chat: Conversation, url: str, choice: str) -> ApiCall:
    """Send `url`, press the button starting with `choice`: the file's send."""
    keyboard = await chat.keyboard(chat.say(url))
    return await chat.media(chat.press(keyboard, keyboard.data(choice)))


async def test_settings_show_and_change_in_english(
    bot: MediabotProcess, fake_telegram: FakeTelegram
) -> None:
    chat = Conversation(fake_telegram)
    shown, keyboard = await _settings(chat)
    assert shown.params["text"].startswith("⚙ <b>Settings</b>")
    assert "A link alone: <b>Always ask</b>" in shown.params["text"]
    assert list(keyboard.buttons) == [
        "✓ Always ask",
        "🎵 Audio only",
        "≤360p",
        "≤480p",
        "≤720p",
        "≤1080p",
        "✓ ▶ As video",
        "📄 As a file",
    ]
    edited = await _press_setting(chat, keyboard, "≤720p")
    assert "A link alone: <b>Best up to 720p</b>" in edited.params["text"]
    assert [text for text in buttons_of(edited) if text.startswith("✓")] == [
        "✓ ≤720p",
        "✓ ▶ As video",
    ]
    # Stored: a new /settings shows it.
    shown, _ = await _settings(chat)
    assert "Best up to 720p" in shown.params["text"]
    help_text = await chat.reply(chat.say("/help"))
    assert "/settings: a default instead of choosing" in help_text.params["text"]


async def test_settings_show_and_change_in_russian(
    bot: MediabotProcess, fake_telegram: FakeTelegram
) -> None:
    chat = Conversation(fake_telegram)
    fake_telegram.speaks(chat.chat_id, "ru-RU")
    shown, keyboard = await _settings(chat)
    assert shown.params["text"].startswith("⚙ <b>Настройки</b>")
    assert "Ссылка без выбора: <b>Всегда спрашивать</b>" in shown.params["text"]
    assert "✓ ▶ Как видео" in keyboard.buttons
    help_text = await chat.reply(chat.say("/help"))
    assert "/settings: выбор по умолчанию" in help_text.params["text"]
    edited = await _press_setting(chat, keyboard, "📄")
    assert "Файлы приходят: <b>📄 Как файл</b>" in edited.params["text"]
    assert "✓ 📄 Как файл" in buttons_of(edited)
    answer = await fake_telegram.wait_for(
        lambda call: (
            call.method == "answerCallbackQuery" and call.params.get("text") == "Сохранено."
        )
    )
    assert answer.ok


async def test_as_a_file_sends_a_document_with_the_sources_streams(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    await _as_a_file(chat)
    sent = await _fetch(chat, media.progressive_mp4, "360p")
    assert sent.method == "sendDocument"
    document = fake_telegram.uploaded_path(sent.result["document"]["file_id"])
    source = await stream_hashes(media.path(media.progressive_mp4))
    assert len(source) == 2
    assert await stream_hashes(document) == source

    sent = await _fetch(chat, media.audio_m4a, "🎵")
    assert sent.method == "sendDocument"
    document = fake_telegram.uploaded_path(sent.result["document"]["file_id"])
    assert await stream_hashes(document) == await stream_hashes(media.path(media.audio_m4a))


async def test_as_a_file_over_the_limit_comes_as_document_parts_of_the_source(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    await _as_a_file(chat)
    keyboard = await chat.keyboard(chat.say(media.long_mp4))
    since = chat.press(keyboard, keyboard.data("720p"))
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage",
        timeout=180,
        since=since,
    )
    parts = [item for item in fake_telegram.sent_media(chat.chat_id)]
    assert len(parts) >= 2
    assert {item.method for item in parts} == {"sendDocument"}
    joined: dict[int, list[str]] = {}
    for item in parts:
        assert item.size <= LIMIT
        for stream, packets in (await packet_hashes(item.path)).items():
            joined.setdefault(stream, []).extend(packets)
    source = await packet_hashes(media.path(media.long_mp4))
    assert joined[0] == source[0]  # the video's packets, each once, in order


async def test_as_video_is_unchanged_and_never_takes_a_document_from_the_cache(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    as_file = Conversation(fake_telegram)
    await _as_a_file(as_file)
    sent = await _fetch(as_file, media.hls_master, "360p")
    assert sent.method == "sendDocument"

    as_video = Conversation(fake_telegram)
    sent = await _fetch(as_video, media.hls_master, "360p")
    assert sent.method == "sendVideo"
    assert sent.params["supports_streaming"] == "true"
    (video,) = fake_telegram.sent_media(as_video.chat_id)
    assert video.uploaded  # fetched and uploaded, not the document's file id

    again = Conversation(fake_telegram)
    await _as_a_file(again)
    sent = await _fetch(again, media.hls_master, "360p")
    # From the cache, the keyboard's message became the document.
    assert (sent.method, sent.json("media")["type"]) == ("editMessageMedia", "document")
    (document,) = fake_telegram.sent_media(again.chat_id)
    assert not document.uploaded  # the first document, from the cache
