"""End to end on the embedded default: `mediabot run` (SQLite, in-process queue).

A real mediabot process talks to the fake Bot API; the media comes from the loopback
media server; the uploaded files are checked with ffprobe.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator

import pytest

from mediabot.media.probe import probe
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import LONG_DURATION, SEGMENTED_DURATION, MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

LIMIT_MB = 2
_IN_PLACE = "in its status message"
_AS_NEW = "as a new message"
"""How a job delivered from the cache ends its last log line: the file took the place of
the keyboard's message, or was sent as a new one."""


@pytest.fixture(scope="module")
def embedded(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    """One `mediabot run` for the module, with a 2 MiB upload limit."""
    data_dir = tmp_path_factory.mktemp("embedded")
    with mediabot_run(fake_telegram, data_dir, TELEGRAM_UPLOAD_LIMIT_MB=str(LIMIT_MB)) as process:
        yield process
    assert "stopped" in process.log


@pytest.fixture
def chat(embedded: MediabotProcess, fake_telegram: FakeTelegram) -> Conversation:
    return Conversation(fake_telegram)


async def test_link_offers_every_resolution_and_delivers_720p_with_sound(
    chat: Conversation, media: MediaSources
) -> None:
    keyboard = await chat.keyboard(chat.say(f"please: {media.dash_mpd}"))
    assert [text.split(" ·")[0] for text in keyboard.buttons] == [
        "360p",
        "720p",
        "1080p",
        "🎵 Audio only",
        "✖ Cancel",
    ]
    since = chat.press(keyboard, keyboard.data("720p"))
    sent = await chat.media(since)
    assert sent.method == "sendVideo"
    info = await probe(chat.telegram.uploaded_path(sent.result["video"]["file_id"]))
    assert info.video is not None and info.video.height == 720
    assert info.audio is not None
    assert sent.params["supports_streaming"] == "true"
    assert media.dash_mpd in sent.params["caption"]
    # The status message gave way to the file.
    await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage", since=since
    )


async def test_audio_only_delivers_sound_without_picture(
    chat: Conversation, media: MediaSources
) -> None:
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    sent = await chat.media(chat.press(keyboard, keyboard.data("🎵")))
    assert sent.method == "sendAudio"
    info = await probe(chat.telegram.uploaded_path(sent.result["audio"]["file_id"]))
    assert info.audio is not None and info.video is None


async def test_the_same_link_from_another_user_comes_from_the_cache(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    first = Conversation(fake_telegram)
    keyboard = await first.keyboard(first.say(media.hls_master))
    delivered = await first.media(first.press(keyboard, keyboard.data("360p")))
    file_id = delivered.result["video"]["file_id"]

    second = Conversation(fake_telegram)
    said = second.say(media.hls_master)
    keyboard = await second.keyboard(said)
    media_requests.reset()
    done = embedded.log.count(_IN_PLACE)
    resent = await second.media(second.press(keyboard, keyboard.data("360p")))
    assert resent.sent_file == file_id
    assert not resent.files, "a cached file must not be uploaded again"
    assert media_requests.request_count() == 0
    # The keyboard became the file: still the reply to the link, without buttons; nothing
    # was sent after the keyboard, and nothing deleted.
    assert resent.method == "editMessageMedia"
    assert resent.result["message_id"] == keyboard.message_id
    assert resent.result["reply_to_message"]["text"] == media.hls_master
    assert "reply_markup" not in resent.result
    await asyncio.to_thread(embedded.wait_for_log, _IN_PLACE, count=done + 1)
    methods = [call.method for call in fake_telegram.calls[said:] if second.in_chat(call)]
    print("cached link -> file, calls in the chat:", methods)
    assert [method for method in methods if method.startswith("send")] == ["sendMessage"]
    assert "deleteMessage" not in methods and methods[-1] == "editMessageMedia"


async def test_a_keyboard_that_cannot_become_the_file_gives_way_to_it(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
) -> None:
    """Telegram refuses the edit: the file is sent as a new message, once, and the
    keyboard deleted, as before editing was tried."""
    first = Conversation(fake_telegram)
    keyboard = await first.keyboard(first.say(media.dash_mpd))
    file_id = (await first.media(first.press(keyboard, keyboard.data("360p")))).result["video"][
        "file_id"
    ]

    second = Conversation(fake_telegram)
    keyboard = await second.keyboard(second.say(media.dash_mpd))
    fake_telegram.fail_next(
        "editMessageMedia",
        error_code=400,
        description="Bad Request: message can't be edited",
        chat_id=second.chat_id,
    )
    done = embedded.log.count(_AS_NEW)
    since = second.press(keyboard, keyboard.data("360p"))
    await asyncio.to_thread(embedded.wait_for_log, _AS_NEW, count=done + 1)
    files = [
        (call.method, call.ok)
        for call in fake_telegram.calls[since:]
        if second.in_chat(call) and call.method in ("editMessageMedia", "sendVideo")
    ]
    assert files == [("editMessageMedia", False), ("sendVideo", True)]
    [sent] = second.calls("sendVideo")
    assert sent.sent_file == file_id
    assert [call.params["message_id"] for call in second.calls("deleteMessage")] == [
        str(keyboard.message_id)
    ]


@pytest.mark.parametrize(
    ("source", "button", "duration_s"),
    [("mp4", "720p", LONG_DURATION), ("hls", "360p", SEGMENTED_DURATION)],
)
async def test_a_long_source_arrives_in_parts_under_the_limit(
    embedded: MediabotProcess,
    chat: Conversation,
    media: MediaSources,
    source: str,
    button: str,
    duration_s: float,
) -> None:
    """A plain MP4 or an HLS playlist over the limit is cut straight from the source while
    parts upload."""
    url = media.long_mp4 if source == "mp4" else media.segmented["hls-ts"]
    keyboard = await chat.keyboard(chat.say(url))
    since = chat.press(keyboard, keyboard.data(button))
    await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage",
        timeout=120,
        since=since,
    )
    parts = [call for call in chat.calls("sendVideo") if call.ok]
    assert len(parts) >= 4
    total = 0.0
    for index, call in enumerate(parts, start=1):
        path = chat.telegram.uploaded_path(call.result["video"]["file_id"])
        assert path.stat().st_size <= LIMIT_MB * 1024 * 1024
        assert f"Part {index}/{len(parts)}" in call.params["caption"]
        info = await probe(path)
        assert info.is_playable and info.video is not None and info.audio is not None
        total += info.duration_s or 0
    assert total == pytest.approx(duration_s, abs=1.5)
    # streamed, not downloaded whole first
    assert f"Streaming {url} from formats" in embedded.log
    assert "bytes in parts" in embedded.log


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("hello there", "Send me a link"),
        ("file:///etc/passwd", "link"),
    ],
)
async def test_bad_input_gets_a_clear_answer(chat: Conversation, text: str, answer: str) -> None:
    reply = await chat.reply(chat.say(text))
    assert answer.lower() in reply.params["text"].lower()


async def test_a_dead_link_is_answered_and_the_bot_serves_the_next_one(
    chat: Conversation, media: MediaSources
) -> None:
    reply = await chat.reply(chat.say(f"{media.base_url}/no/such/video.mp4"))
    assert "inline_keyboard" not in reply.params.get("reply_markup", "")
    assert reply.params["text"]
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    assert any(text.startswith("360p") for text in keyboard.buttons)


async def test_a_forged_or_foreign_button_changes_nothing(
    embedded: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    owner = Conversation(fake_telegram)
    keyboard = await owner.keyboard(owner.say(media.progressive_mp4))
    stranger = Conversation(fake_telegram)
    stranger.telegram.inject_message(stranger.chat_id, "hi")  # the stranger's chat exists
    for forged in (keyboard.data("360p"), "c:zzzz:v:360", "garbage"):
        since = len(fake_telegram.calls)
        fake_telegram.inject_callback(stranger.chat_id, keyboard.message_id, forged)
        answer = await fake_telegram.wait_for(
            lambda call: call.method == "answerCallbackQuery", since=since
        )
        assert "not available" in answer.params.get("text", "").lower()
    # A height the offer did not have, pressed in the right chat.
    forged_height = keyboard.data("360p").replace(":360", ":4320")
    since = owner.press(keyboard, forged_height)
    answer = await fake_telegram.wait_for(
        lambda call: call.method == "answerCallbackQuery", since=since
    )
    assert "not available" in answer.params.get("text", "").lower()
    assert not owner.calls("sendVideo", "sendAudio")
    # The real button still works afterwards.
    sent = await owner.media(owner.press(keyboard, keyboard.data("360p")))
    assert sent.method == "sendVideo"


async def test_flood_control_is_waited_out_and_delivers_once(
    chat: Conversation, media: MediaSources
) -> None:
    keyboard = await chat.keyboard(chat.say(media.audio_m4a))
    chat.telegram.fail_next("sendAudio", error_code=429, retry_after=1)
    since = chat.press(keyboard, keyboard.data("🎵"))
    await chat.media(since)
    attempts = [call for call in chat.calls("sendAudio")]
    assert [call.status for call in attempts] == [429, 200]


async def test_start_explains_the_bot(chat: Conversation) -> None:
    reply = await chat.reply(chat.say("/start"))
    assert "link" in reply.params["text"] and "minutes" in reply.params["text"]


async def test_sigusr1_logs_every_task_and_thread_and_the_bot_serves_on(
    embedded: MediabotProcess, chat: Conversation
) -> None:
    os.kill(embedded.pid, signal.SIGUSR1)
    embedded.wait_for_log("what this process is doing (SIGUSR1)")
    dump = embedded.log.split("what this process is doing (SIGUSR1)", 1)[1]
    assert "--- task " in dump and "--- thread MainThread" in dump
    reply = await chat.reply(chat.say("/start"))
    assert "link" in reply.params["text"]


async def test_cancel_during_the_download_stops_it(
    embedded: MediabotProcess,
    chat: Conversation,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    keyboard = await chat.keyboard(chat.say(media.dash_mpd))
    media_requests.throttle_bytes_per_second = 50_000
    since = chat.press(keyboard, keyboard.data("1080p"))
    request = uuid.UUID(hex=keyboard.data("1080p").split(":")[1])
    await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and "Downloading" in call.params.get("text", ""),
        since=since,
    )
    chat.press(keyboard, keyboard.data("✖"))
    await chat.final_text(since, "Cancelled", within=15)
    embedded.wait_for_log(f"job {request}: cancelled by the user", timeout=15)
    media_requests.throttle_bytes_per_second = None
    # the file goes up while it comes down: the upload under way is broken off, never accepted
    assert not [call for call in chat.calls("sendVideo") if call.ok]


async def test_two_users_asking_at_once_share_one_download(
    embedded: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    first, second = Conversation(fake_telegram), Conversation(fake_telegram)
    first_keys = await first.keyboard(first.say(media.hls_master))
    second_keys = await second.keyboard(second.say(media.hls_master))
    media_requests.throttle_bytes_per_second = 300_000  # both jobs run while one downloads
    first_since = first.press(first_keys, first_keys.data("720p"))
    second_since = second.press(second_keys, second_keys.data("720p"))
    sent = [await first.media(first_since), await second.media(second_since)]
    media_requests.throttle_bytes_per_second = None
    assert [bool(call.files) for call in sent].count(True) == 1, "one upload, one resend"
    unique_ids = {call.result["video"]["file_unique_id"] for call in sent}
    assert len(unique_ids) == 1
    assert "the same media is being fetched" in embedded.log
