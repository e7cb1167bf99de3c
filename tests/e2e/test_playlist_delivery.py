"""End to end on `mediabot run`: a playlist link (a podcast-style feed yt-dlp's generic
extractor lists as a playlist) offers all its items at once; they arrive in turn under one
status message, a cached item at once and without a download, and its ✖ stops the rest."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.conversation import Conversation, Keyboard
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.feeds import distinct_items, podcast_feed
from tests.support.media import PROGRESSIVE_SIZE, MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

SLOW = 60_000  # bytes per second: a download that runs while the test presses on
_DELIVERIES = ("sendAudio", "sendVideo", "sendDocument")


@pytest.fixture(scope="module")
def embedded(fake_telegram: FakeTelegram, data_dir: Path) -> Iterator[MediabotProcess]:
    with mediabot_run(
        fake_telegram,
        data_dir,
        WORKER_CONCURRENCY="2",
        MAX_ACTIVE_REQUESTS="2",
        PLAYLIST_MAX_ITEMS="5",
    ) as process:
        yield process


def _feed(server: MediaServer, name: str, items: list[str], extra: int = 0) -> str:
    """A feed at /<name>.xml of these items, plus `extra` items past them (for the cap)."""
    links = [*items, *(f"{server.base_url}/{name}/extra{index}.mp4" for index in range(extra))]
    return podcast_feed(server, f"/{name}.xml", links, title=f"List {name}")


def _path(url: str, server: MediaServer) -> str:
    return url.removeprefix(server.base_url)


def _first_fetches(server: MediaServer, paths: list[str]) -> list[str]:
    """The paths in the order the media server first saw them asked for."""
    seen: list[str] = []
    for request in server.requests:
        if request.path in paths and request.path not in seen:
            seen.append(request.path)
    return seen


async def _offer(chat: Conversation, url: str) -> tuple[Keyboard, ApiCall]:
    since = chat.say(url)
    keyboard = await chat.keyboard(since, within=60)
    offer = next(
        call
        for call in reversed(chat.calls("sendMessage", "editMessageText"))
        if call.ok
        and call.result["message_id"] == keyboard.message_id
        and "inline_keyboard" in call.params.get("reply_markup", "")
    )
    return keyboard, offer


def _status_edits(chat: Conversation, message_id: int, since: int) -> list[ApiCall]:
    return [
        call
        for call in chat.telegram.calls[since:]
        if chat.in_chat(call)
        and call.method == "editMessageText"
        and call.params.get("message_id") == str(message_id)
    ]


async def test_a_playlist_arrives_in_turn_under_one_status_the_cached_item_first(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    items = distinct_items(media_requests, media, "pl5", 5)
    paths = [_path(url, media_requests) for url in items]

    # The third item, asked for on its own first: it is in the cache from then on.
    single = await chat.keyboard(chat.say(items[2]), within=60)
    since = chat.press(single, single.data("🎵"))
    cached = await chat.media(since, within=120)
    assert cached.method == "sendAudio"
    # Its status message goes last: no edit of it comes after this (taken for the offer).
    await fake_telegram.wait_for(
        lambda call: (
            chat.in_chat(call)
            and call.method == "deleteMessage"
            and call.params.get("message_id") == str(single.message_id)
        ),
        60,
        since=since,
    )

    feed = _feed(media_requests, "pl5", items, extra=2)
    keyboard, offer = await _offer(chat, feed)
    text = offer.params["text"]
    assert "List pl5" in text and "items: 5" in text and "0:15" in text
    assert "first 5 of its 7" in text
    assert list(keyboard.buttons) == ["360p", "480p", "720p", "1080p", "🎵 Audio only", "✖ Cancel"]

    media_requests.reset()
    since = chat.press(keyboard, keyboard.data("🎵"))
    done = await chat.final_text(since, "Playlist done", within=240)
    assert done.params["message_id"] == str(keyboard.message_id)
    assert "5 of 5 delivered" in done.params["text"]

    deliveries = [call for call in fake_telegram.calls[since:] if chat.in_chat(call)]
    sent = [call for call in deliveries if call.method in _DELIVERIES and call.ok]
    assert [call.method for call in sent] == ["sendAudio"] * 5
    # The cached item first, from Telegram's copy (no upload), then the others in order.
    assert sent[0].params.get("audio") == cached.result["audio"]["file_id"]
    assert all(call.files for call in sent[1:])
    assert _first_fetches(media_requests, paths) == [paths[0], paths[1], paths[3], paths[4]]
    assert media_requests.request_count(paths[2]) == 0
    # One status message for the whole playlist: no other message, its count on the way.
    assert not [call for call in deliveries if call.method == "sendMessage"]
    texts = [call.params["text"] for call in _status_edits(chat, keyboard.message_id, since)]
    assert any("of 5" in text for text in texts[:-1])


async def test_a_repeat_in_a_feed_is_left_out_and_no_limit_is_claimed(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """Four entries, one of them listed twice, under the limit of five: three offered, one
    left out, and nothing said of a limit."""
    chat = Conversation(fake_telegram)
    items = distinct_items(media_requests, media, "plr", 3)
    _, offer = await _offer(chat, _feed(media_requests, "plr", [*items, items[0]]))
    text = offer.params["text"]
    assert "items: 3" in text and "Left out: 1" in text
    assert "Only the first" not in text


async def test_a_height_for_all_brings_each_item_at_its_best_up_to_it(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    items = distinct_items(media_requests, media, "plv", 2)  # 360p each
    keyboard, _ = await _offer(chat, _feed(media_requests, "plv", items))
    since = chat.press(keyboard, keyboard.data("720p"))
    done = await chat.final_text(since, "Playlist done", within=240)
    assert "2 of 2 delivered" in done.params["text"]
    videos = [call for call in chat.calls("sendVideo") if call.ok]
    assert [call.result["video"]["height"] for call in videos] == [PROGRESSIVE_SIZE[1]] * 2
    assert "playlist item at 360p (up to 720p)" in embedded.log


async def test_the_playlist_cancel_stops_what_is_left(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    data_dir: Path,
) -> None:
    chat = Conversation(fake_telegram)
    items = distinct_items(media_requests, media, "plx", 5)
    paths = [_path(url, media_requests) for url in items]
    keyboard, _ = await _offer(chat, _feed(media_requests, "plx", items))
    media_requests.throttle_bytes_per_second = SLOW
    try:
        since = chat.press(keyboard, keyboard.data("🎵"))
        downloading = await chat.final_text(since, "Downloading", within=60)
        assert downloading.params["message_id"] == str(keyboard.message_id)
        assert "1 of 5" in downloading.params["text"]
        cancel = json.loads(downloading.params["reply_markup"])["inline_keyboard"][0][0]
        since = chat.press(keyboard, cancel["callback_data"])
        said = await chat.final_text(since, "Cancelled", within=30)
        assert "0 of 5" in said.params["text"]
        embedded.wait_for_log("cancelled by the user", timeout=30)
    finally:
        media_requests.throttle_bytes_per_second = None
    await asyncio.sleep(5)  # a job that wrongly went on would have fetched by now
    assert not [call for call in chat.calls(*_DELIVERIES) if call.ok]
    assert [path for path in paths if media_requests.request_count(path)] == paths[:1]
    leftovers = [path for path in (data_dir / "work").glob("*") if path.is_dir()]
    assert not [path for path in leftovers if _is_request_folder(path)]


async def test_dead_and_nested_items_are_skipped_and_counted(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    items = distinct_items(media_requests, media, "pld", 4)
    dead = media_requests.add_route("/pld/gone.mp4", status=404, body="gone")
    nested = podcast_feed(media_requests, "/pld-inner.xml", items[2:])
    feed = _feed(media_requests, "pld", [items[0], dead, nested, items[1]])
    keyboard, _ = await _offer(chat, feed)
    since = chat.press(keyboard, keyboard.data("🎵"))
    done = await chat.final_text(since, "Playlist done", within=240)
    assert "2 of 4 delivered" in done.params["text"]
    assert "Skipped: 2" in done.params["text"]
    assert len([call for call in chat.calls("sendAudio") if call.ok]) == 2
    # A nested playlist is not expanded: its items were never fetched.
    assert not any(media_requests.request_count(_path(url, media_requests)) for url in items[2:])


def _is_request_folder(path: Path) -> bool:
    try:
        uuid.UUID(path.name)
    except ValueError:
        return False
    return True
