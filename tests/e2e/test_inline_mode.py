"""End to end on `mediabot run`: inline mode through the fake Bot API.

A new link is offered as resolutions and audio; the chosen result's placeholder is edited
into the file, uploaded first to the storage chat. The same link asked again is answered
with that file from the cache: nothing downloaded, nothing uploaded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.conversation import Conversation
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.feeds import distinct_items
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

STORAGE = -100_777_000_001
_users = itertools.count(810_000_001)


@pytest.fixture(scope="module")
def embedded(fake_telegram: FakeTelegram, data_dir: Path) -> Iterator[MediabotProcess]:
    with mediabot_run(
        fake_telegram, data_dir, STORAGE_CHAT_ID=str(STORAGE), TELEGRAM_UPLOAD_LIMIT_MB="2"
    ) as process:
        yield process


async def _results(
    telegram: FakeTelegram, query_id: str, within: float = 15
) -> list[dict[str, Any]]:
    for _ in range(int(within * 20)):
        results = telegram.inline_results(query_id)
        if results is not None:
            return results
        await asyncio.sleep(0.05)
    raise AssertionError(f"inline query {query_id} not answered in {within}s")


def _in_storage(call: ApiCall) -> bool:
    return call.params.get("chat_id") == str(STORAGE) and call.ok


async def test_a_new_link_goes_through_the_storage_chat_into_the_inline_message(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    user = next(_users)
    query = fake_telegram.inject_inline_query(user, media.progressive_mp4)
    results = await _results(fake_telegram, query)
    assert results and all(result["type"] == "article" for result in results)
    titles = [result["title"] for result in results]
    assert titles[-1].startswith("🎵") and titles[0].startswith("🎬")
    for result in results:
        assert result["reply_markup"]["inline_keyboard"], "a placeholder needs a keyboard"
        assert len(result["id"].encode()) <= 64

    video = results[-2]  # the lowest resolution
    since = len(fake_telegram.calls)
    place = fake_telegram.choose_inline_result(query, video["id"])
    assert place is not None
    assert "Fetching" in fake_telegram.inline_message(place)["text"]

    uploaded = await fake_telegram.wait_for(
        lambda call: _in_storage(call) and call.method == "sendVideo", 120, since=since
    )
    assert uploaded.files, "a new file is uploaded to the storage chat"
    edited = await fake_telegram.wait_for(
        lambda call: call.method == "editMessageMedia" and call.ok, 30, since=since
    )
    assert edited.params["inline_message_id"] == place
    message = fake_telegram.inline_message(place)
    assert message["video"]["file_id"] == uploaded.result["video"]["file_id"]
    assert "text" not in message
    # Progress went to the inline message, never to a chat of the user's.
    assert not [
        call
        for call in fake_telegram.calls[since:]
        if call.params.get("chat_id") not in (None, str(STORAGE))
    ]

    # Asked again, the link is answered with that file from the cache.
    media_requests.reset()
    since = len(fake_telegram.calls)
    again = fake_telegram.inject_inline_query(next(_users), media.progressive_mp4)
    cached = await _results(fake_telegram, again)
    assert [result["type"] for result in cached] == ["video"]
    assert cached[0]["video_file_id"] == uploaded.result["video"]["file_id"]
    assert fake_telegram.choose_inline_result(again, cached[0]["id"]) is None
    await asyncio.sleep(1)
    assert media_requests.request_count() == 0, "a cached answer needs no lookup"
    assert not [
        call
        for call in fake_telegram.calls[since:]
        if call.method in ("sendVideo", "sendAudio", "editMessageMedia")
    ], "Telegram sends a cached result itself"


async def test_audio_is_offered_and_delivered_too(
    embedded: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    query = fake_telegram.inject_inline_query(next(_users), media.audio_m4a)
    results = await _results(fake_telegram, query)
    audio = next(result for result in results if result["title"].startswith("🎵"))
    since = len(fake_telegram.calls)
    place = fake_telegram.choose_inline_result(query, audio["id"])
    assert place is not None
    uploaded = await fake_telegram.wait_for(
        lambda call: _in_storage(call) and call.method == "sendAudio", 120, since=since
    )
    await fake_telegram.wait_for(
        lambda call: call.method == "editMessageMedia" and call.ok, 30, since=since
    )
    assert (
        fake_telegram.inline_message(place)["audio"]["file_id"]
        == (uploaded.result["audio"]["file_id"])
    )


async def test_a_file_in_parts_is_sent_in_the_private_chat_through_the_deep_link(
    embedded: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    user = next(_users)
    query = fake_telegram.inject_inline_query(user, media.long_mp4)
    results = await _results(fake_telegram, query)
    since = len(fake_telegram.calls)
    place = fake_telegram.choose_inline_result(query, results[0]["id"])
    assert place is not None
    told = await fake_telegram.wait_for(
        lambda call: (
            call.method == "editMessageText"
            and call.params.get("inline_message_id") == place
            and "Too large" in call.params.get("text", "")
        ),
        180,
        since=since,
    )
    stored = [
        call
        for call in fake_telegram.calls[since:]
        if _in_storage(call) and call.method == "sendVideo"
    ]
    assert len(stored) > 1, "the parts went to the storage chat"
    assert not [call for call in fake_telegram.calls[since:] if call.method == "editMessageMedia"]
    [[button]] = json.loads(told.params["reply_markup"])["inline_keyboard"]
    link = button["url"]
    assert link.startswith("https://t.me/mediabot_test_bot?start=inline_")

    chat = Conversation(fake_telegram, chat_id=user)
    since = chat.say("/start " + link.split("?start=")[1])
    for _ in stored:
        sent = await chat.media(since, within=60)
        assert not sent.files, "the parts are sent again by file id, not uploaded"
        since = fake_telegram.calls.index(sent) + 1


async def test_a_storage_chat_that_refuses_the_bot_fails_each_request_in_its_own_message(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """The storage chat answers 403 (the bot was removed from it): every inline request
    chosen meanwhile says so in its own message, none is left "Fetching", and once the
    bot is back in the storage chat the next one is delivered."""
    links = distinct_items(media_requests, media, "storage403", 4)
    fake_telegram.block_chat(STORAGE)
    places = []
    for link in links[:3]:  # more than the worker's concurrency: some wait their turn
        query = fake_telegram.inject_inline_query(next(_users), link)
        audio = next(r for r in await _results(fake_telegram, query) if r["title"][0] == "🎵")
        place = fake_telegram.choose_inline_result(query, audio["id"])
        assert place is not None
        places.append(place)
    for _ in range(600):
        texts = [fake_telegram.inline_message(place).get("text", "") for place in places]
        if all("failed" in text for text in texts):
            break
        await asyncio.sleep(0.1)
    assert all("failed" in text for text in texts), texts
    assert "storage chat refused the bot" in embedded.log

    fake_telegram.unblock_chat(STORAGE)
    query = fake_telegram.inject_inline_query(next(_users), links[3])
    audio = next(r for r in await _results(fake_telegram, query) if r["title"][0] == "🎵")
    since = len(fake_telegram.calls)
    place = fake_telegram.choose_inline_result(query, audio["id"])
    await fake_telegram.wait_for(
        lambda call: call.method == "editMessageMedia" and call.ok, 60, since=since
    )
    assert "audio" in fake_telegram.inline_message(place)
