"""End to end: a link delivered by the user's default (/settings), and "⚙ Other choices".

`mediabot run` against the fake Bot API and the loopback media server. Each test talks in a
chat of its own (a user of its own), so its settings are its own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.conversation import Conversation, Keyboard, buttons_of
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.feeds import distinct_items, podcast_feed
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("default-choice")
    with mediabot_run(fake_telegram, data_dir) as process:
        yield process


async def _set_default(chat: Conversation, label: str) -> None:
    """Choose the /settings button starting with `label`, and see it ticked."""
    since = chat.say("/settings")
    shown = await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendMessage" and call.ok,
        since=since,
    )
    keyboard = Keyboard(int(shown.result["message_id"]), buttons_of(shown))
    since = chat.press(keyboard, keyboard.data(label))
    edited = await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "editMessageText" and call.ok,
        since=since,
    )
    assert any(text.startswith(f"✓ {label}") for text in buttons_of(edited))


async def _kept_status(chat: Conversation, since: int, line: str) -> ApiCall:
    """The status message edited into its short line after the delivery."""
    return await chat.telegram.wait_for(
        lambda call: (
            chat.in_chat(call)
            and call.method == "editMessageText"
            and call.ok
            and call.params.get("text") == line
        ),
        60,
        since=since,
    )


def _buttons_shown(chat: Conversation, since: int) -> list[str]:
    """Every button label the bot showed in the chat since `since`."""
    return [
        text
        for call in chat.telegram.calls[since:]
        if chat.in_chat(call) and call.method in ("sendMessage", "editMessageText")
        for text in buttons_of(call)
    ]


async def test_a_default_of_720p_delivers_at_once_and_other_choices_bring_the_keyboard_back(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    await _set_default(chat, "≤720p")
    since = chat.say(media.dash_mpd)
    sent = await chat.media(since)
    assert sent.method == "sendVideo"
    (video,) = fake_telegram.sent_media(chat.chat_id)
    assert video.height == 720  # the best of 360p, 720p and 1080p up to 720p

    kept = await _kept_status(chat, since, "✅ 720p · your default")
    assert list(buttons_of(kept)) == ["⚙ Other choices"]
    # No choice was ever offered: only the queued request's ✖, then "⚙ Other choices".
    assert set(_buttons_shown(chat, since)) <= {"✖ Cancel", "⚙ Other choices"}
    assert not chat.calls("deleteMessage")

    status = Keyboard(int(kept.result["message_id"]), buttons_of(kept))
    keyboard = await chat.keyboard(chat.press(status, status.data("⚙")))
    assert keyboard.message_id == status.message_id
    assert any(text.startswith("1080p") for text in keyboard.buttons)
    sent = await chat.media(chat.press(keyboard, keyboard.data("🎵")))
    assert sent.method == "sendAudio"


async def test_always_ask_shows_the_keyboard_and_deletes_the_status(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    assert any(text.startswith("360p") for text in keyboard.buttons)
    since = chat.press(keyboard, keyboard.data("360p"))
    sent = await chat.media(since)
    assert sent.method == "sendVideo"
    deleted = await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage", since=since
    )
    assert deleted.params["message_id"] == str(keyboard.message_id)
    assert "⚙ Other choices" not in _buttons_shown(chat, 0)


async def test_a_default_of_audio_delivers_the_audio_in_russian(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    fake_telegram.speaks(chat.chat_id, "ru-RU")
    await _set_default(chat, "🎵")
    since = chat.say(media.hls_master)
    sent = await chat.media(since)
    assert sent.method == "sendAudio"
    kept = await _kept_status(chat, since, "✅ Аудио · ваш выбор по умолчанию")
    assert list(buttons_of(kept)) == ["⚙ Другие варианты"]
    assert set(_buttons_shown(chat, since)) <= {"✖ Отмена", "⚙ Другие варианты"}


async def test_a_height_default_over_every_offered_height_asks(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    await _set_default(chat, "≤360p")
    keyboard = await chat.keyboard(chat.say(media.long_mp4))  # 720p only
    assert any(text.startswith("720p") for text in keyboard.buttons)
    assert not fake_telegram.sent_media(chat.chat_id)


async def test_a_playlist_is_chosen_by_the_default_for_all_its_items(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    await _set_default(chat, "🎵")
    items = distinct_items(media_requests, media, "default-pl", 2)
    feed = podcast_feed(media_requests, "/default-pl.xml", items, title="List by default")
    since = chat.say(feed)
    done = await chat.final_text(since, "Playlist done", within=180)
    assert "2 of 2 delivered" in done.params["text"]
    sent = [item.method for item in fake_telegram.sent_media(chat.chat_id)]
    assert sent == ["sendAudio", "sendAudio"]
    assert set(_buttons_shown(chat, since)) <= {"✖ Cancel"}
