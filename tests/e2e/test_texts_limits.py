"""Texts Telegram would refuse: a link too long for a naive status message."""

from __future__ import annotations

from pathlib import Path

from mediabot.bot import texts
from mediabot.telegram.texts import utf16_length
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_env


async def test_a_4083_character_link_gets_its_status_and_keyboard(
    fake_telegram: FakeTelegram, media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    url = f"{media.progressive_mp4}?pad="
    url += "a" * (4083 - len(url))
    assert len(url) == 4083
    process = MediabotProcess("run", mediabot_env(fake_telegram, tmp_path), tmp_path / "log")
    chat = Conversation(fake_telegram)
    process.start()
    try:
        process.wait_for_log("mediabot started")
        # A slow lookup: the "looking up" placeholder goes out after a second.
        media_requests.throttle_bytes_per_second = 20_000
        since = chat.say(url)
        await fake_telegram.wait_for(
            lambda call: chat.in_chat(call) and call.method == "sendMessage", 60, since=since
        )
        media_requests.throttle_bytes_per_second = None
        keyboard = await chat.keyboard(since, within=60)
    finally:
        assert process.stop() == 0, process.log[-3000:]
    # A quick lookup is answered with the keyboard alone; a slow one's placeholder first.
    for sent in chat.calls("sendMessage"):
        assert sent.ok, sent.result
        assert utf16_length(sent.result["text"]) <= 4096
    assert any(text.startswith("360p") for text in keyboard.buttons)


def test_the_placeholder_of_a_4083_character_link_fits_one_message() -> None:
    url = "https://example.com/video.mp4?pad="
    url += "a" * (4083 - len(url))
    text = texts.looking_up(url)
    assert text.startswith("🔎 Looking up https://example.com/video.mp4?pad=aaa")
    assert utf16_length(text) <= 4096
