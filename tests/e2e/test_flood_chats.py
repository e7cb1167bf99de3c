"""Flood control end to end: `mediabot run` against the fake Bot API's 429s.

One chat's flood wait holds only that chat; an answer is retried through flood waits
until it is sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.processes import MediabotProcess, mediabot_run


@pytest.fixture(scope="module")
def flooded(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("flood")
    with mediabot_run(fake_telegram, data_dir) as process:
        yield process


async def test_one_chats_long_flood_wait_does_not_hold_another_chat(
    flooded: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    first, second = Conversation(fake_telegram), Conversation(fake_telegram)
    fake_telegram.fail_next("sendMessage", retry_after=160)
    since = first.say(media.progressive_mp4)
    await fake_telegram.wait_for(
        lambda call: first.in_chat(call) and call.status == 429, since=since
    )
    started = time.monotonic()
    keyboard = await second.keyboard(second.say(media.progressive_mp4), within=20)
    assert time.monotonic() - started < 20
    assert any(text.startswith("360p") for text in keyboard.buttons)
    assert "flood control" in flooded.log


async def test_twenty_flood_waits_on_sendmessage_still_bring_the_keyboard(
    flooded: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    fake_telegram.fail_next("sendMessage", count=20, retry_after=1)
    since = chat.say(media.progressive_mp4)
    keyboard = await chat.keyboard(since, within=60)
    refused = [call for call in chat.calls("sendMessage") if call.status == 429]
    assert len(refused) == 20
    first = next(call for call in chat.calls("sendMessage") if call.ok)
    # The keyboard itself, or the placeholder when the lookup took over a second.
    assert first.result["message_id"] == keyboard.message_id
    assert keyboard.buttons
