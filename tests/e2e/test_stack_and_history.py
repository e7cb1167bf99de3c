"""End to end on `mediabot run` with one worker slot: a user's stack of requests, /queue
and its ✖, fair turns between users, /history sending a file again from the cache, and a
file Telegram already has sent while the slot downloads (the cached lane)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.conversation import Conversation, Keyboard, buttons_of
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

SLOW = 60_000  # bytes per second: a download that runs while the test presses on


@pytest.fixture(scope="module")
def embedded(fake_telegram: FakeTelegram, data_dir: Path) -> Iterator[MediabotProcess]:
    with mediabot_run(
        fake_telegram, data_dir, WORKER_CONCURRENCY="1", MAX_ACTIVE_REQUESTS="3"
    ) as process:
        yield process


def _request(data: str) -> uuid.UUID:
    return uuid.UUID(hex=data.split(":")[1])


async def _command(chat: Conversation, text: str, expect: str) -> ApiCall:
    since = chat.say(text)
    return await chat.telegram.wait_for(
        lambda call: (
            chat.in_chat(call) and call.method == "sendMessage" and expect in call.params["text"]
        ),
        30,
        since=since,
    )


async def _queued(chat: Conversation, keyboard: Keyboard, data: str) -> None:
    since = chat.press(keyboard, data)
    await chat.telegram.wait_for(
        lambda call: (
            chat.in_chat(call)
            and call.method == "editMessageText"
            and call.params.get("message_id") == str(keyboard.message_id)
        ),
        30,
        since=since,
    )


def _first(keyboard: Keyboard) -> str:
    """The first button's data: the lowest resolution the source has."""
    return next(iter(keyboard.buttons.values()))


def _path(media: MediaSources, url: str) -> str:
    return url.removeprefix(media.base_url)


async def test_the_fourth_press_is_refused_and_queue_cancels_queued_and_running(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    data_dir: Path,
) -> None:
    chat = Conversation(fake_telegram)
    running = await chat.keyboard(chat.say(media.long_mp4))
    waiting = await chat.keyboard(chat.say(media.long_audio_m4a))
    third = await chat.keyboard(chat.say(media.long_dash_mpd))
    fourth = await chat.keyboard(chat.say(media.progressive_mp4))
    media_requests.throttle_bytes_per_second = SLOW
    try:
        since = chat.press(running, _first(running))
        await chat.final_text(since, "Downloading", within=30)
        await _queued(chat, waiting, waiting.data("🎵"))
        await _queued(chat, third, _first(third))
        media_requests.reset()

        since = chat.press(fourth, _first(fourth))
        refusal = await chat.final_text(since, "requests in flight", within=30)
        assert refusal.method == "sendMessage"
        assert len(re.findall(r"^\d\. ", refusal.params["text"], re.MULTILINE)) == 3
        assert "downloading" in refusal.params["text"]

        listing = await _command(chat, "/queue", "in flight")
        lines = re.findall(r"^\d\. .*$", listing.params["text"], re.MULTILINE)
        assert len(lines) == 3
        assert "queued" in lines[0] and "downloading" in lines[2]
        buttons = buttons_of(listing)
        assert list(buttons) == ["✖ 1", "✖ 2", "✖ 3"]
        assert [_request(data) for data in buttons.values()] == [
            _request(_first(third)),
            _request(waiting.data("🎵")),
            _request(_first(running)),
        ]

        # A stranger's ✖ changes nothing.
        stranger = Conversation(fake_telegram)
        stranger.say("hi")
        since = len(fake_telegram.calls)
        fake_telegram.inject_callback(
            stranger.chat_id, listing.result["message_id"], buttons["✖ 2"]
        )
        answer = await fake_telegram.wait_for(
            lambda call: call.method == "answerCallbackQuery", since=since
        )
        assert "not your" in answer.params.get("text", "").lower()

        # The queued one: cancelled, its status says so, it never starts.
        queued_id = _request(buttons["✖ 2"])
        since = len(fake_telegram.calls)
        fake_telegram.inject_callback(chat.chat_id, listing.result["message_id"], buttons["✖ 2"])
        await fake_telegram.wait_for(
            lambda call: (
                chat.in_chat(call)
                and call.method == "editMessageText"
                and call.params.get("message_id") == str(waiting.message_id)
                and "Cancelled" in call.params.get("text", "")
            ),
            15,
            since=since,
        )

        # The running one: its worker stops within seconds and its files go.
        running_id = _request(buttons["✖ 3"])
        since = len(fake_telegram.calls)
        fake_telegram.inject_callback(chat.chat_id, listing.result["message_id"], buttons["✖ 3"])
        embedded.wait_for_log(f"job {running_id}: cancelled by the user", timeout=15)
        await chat.telegram.wait_for(
            lambda call: (
                chat.in_chat(call)
                and call.params.get("message_id") == str(running.message_id)
                and "Cancelled" in call.params.get("text", "")
            ),
            15,
            since=since,
        )
        folder = data_dir / "work" / str(running_id)
        for _ in range(100):
            if not folder.exists():
                break
            await asyncio.sleep(0.1)
        assert not folder.exists()
    finally:
        media_requests.throttle_bytes_per_second = None

    # The third one runs and arrives; the cancelled queued one never reached the source.
    await chat.media(since, within=120)
    assert f"job {queued_id}: started" not in embedded.log
    assert media_requests.request_count(_path(media, media.long_audio_m4a)) == 0
    assert not chat.calls("sendAudio")


async def test_one_slot_serves_a_second_user_second(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    first, second = Conversation(fake_telegram), Conversation(fake_telegram)
    first_keys = [
        await first.keyboard(first.say(url))
        for url in (media.dash_mpd, media.hls_master, media.progressive_mp4)
    ]
    second_keys = await second.keyboard(second.say(media.audio_m4a))
    media_requests.throttle_bytes_per_second = SLOW
    try:
        since = first.press(first_keys[0], first_keys[0].data("720p"))
        await first.final_text(since, "Downloading", within=30)
        await _queued(first, first_keys[1], first_keys[1].data("720p"))
        await _queued(first, first_keys[2], first_keys[2].data("🎵"))
        await _queued(second, second_keys, second_keys.data("🎵"))
    finally:
        media_requests.throttle_bytes_per_second = None
    ids = [
        _request(first_keys[0].data("720p")),
        _request(first_keys[1].data("720p")),
        _request(first_keys[2].data("🎵")),
        _request(second_keys.data("🎵")),
    ]
    for _ in range(3):
        await first.media(len(fake_telegram.calls) - 1, within=120)
    await second.media(0, within=120)
    for request in ids:
        embedded.wait_for_log(f"job {request}: started", timeout=120)
    log = embedded.log
    started = sorted(ids, key=lambda request: log.index(f"job {request}: started"))
    assert started == [ids[0], ids[3], ids[1], ids[2]]


async def test_history_sends_a_file_again_without_the_source(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    empty = await _command(chat, "/history", "Nothing delivered")
    assert not buttons_of(empty)
    keyboard = await chat.keyboard(chat.say(media.audio_m4a))
    since = chat.press(keyboard, keyboard.data("🎵"))
    delivered = await chat.media(since)
    file_id = delivered.result["audio"]["file_id"]
    # Recorded as delivered before the job says so (fetched, or sent from the cache when
    # another test of the module asked for it first).
    delivered_line = f"job {_request(keyboard.data('🎵'))}: delivered"
    await asyncio.to_thread(embedded.wait_for_log, delivered_line)

    listing = await _command(chat, "/history", "delivered files")
    assert re.search(r"^1\. .* · audio · \d{4}-\d\d-\d\d$", listing.params["text"], re.MULTILINE)
    buttons = buttons_of(listing)
    assert list(buttons) == ["↻ 1"]
    media_requests.reset()
    since = len(fake_telegram.calls)
    fake_telegram.inject_callback(chat.chat_id, listing.result["message_id"], buttons["↻ 1"])
    again = await chat.media(since)
    assert again.sent_file == file_id
    assert not again.files, "a file sent again must not be uploaded"
    assert media_requests.request_count() == 0


async def test_a_file_telegram_has_arrives_while_the_only_slot_downloads(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    first = Conversation(fake_telegram)
    keyboard = await first.keyboard(first.say(media.progressive_mp4))
    uploaded = await first.media(first.press(keyboard, keyboard.data("360p")))
    assert uploaded.files, "the first delivery must be a fresh one"

    downloading, cached = Conversation(fake_telegram), Conversation(fake_telegram)
    slow = await downloading.keyboard(downloading.say(media.long_mp4))
    again = await cached.keyboard(cached.say(media.progressive_mp4))
    media_requests.throttle_bytes_per_second = SLOW
    try:
        since = downloading.press(slow, _first(slow))
        await downloading.final_text(since, "Downloading", within=30)
        sent = await cached.media(cached.press(again, again.data("360p")), within=15)
        assert not sent.files, "a file Telegram has must be sent by its id"
        assert sent.sent_file == uploaded.result["video"]["file_id"]
        assert not downloading.calls("sendVideo"), "the download was to be still running"
        slow_id = _request(_first(slow))
        assert f"job {slow_id}: delivered" not in embedded.log
    finally:
        media_requests.throttle_bytes_per_second = None
    await downloading.media(since, within=120)
