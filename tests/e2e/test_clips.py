"""Clips end to end on `mediabot run`: a link with a range offers the clip beside the
whole; a press delivers the clip, cut from only the bytes it needs, starting within a
second of the asked time; the same clip asked again comes from Telegram's copy, with no
download.

The press uses what the offer's lookup found (addresses, formats, a DASH manifest's
fragments): the delivery neither extracts nor probes the link again, so what the media
server serves from the press on (every request: manifests, playlists, the MP4's index,
media) is the clip's bytes and their index, at most `MOST_BYTES` times the clip's size,
whether the MP4's index comes first or last. The sound alone of a muxed source is cut from
the clip's span of it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from mediabot.media.probe import probe
from tests.media.clips.test_cut_clips import MOST_BYTES, _first_frame_time
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.feeds import podcast_feed
from tests.support.media import CLIP_DURATION, MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

ASKED = "5:01-5:21"
ASKED_START_S = 301
CLIP_S = 20


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("clips")
    with mediabot_run(fake_telegram, data_dir) as process:
        yield process


def _served_bytes(server: MediaServer, since: int) -> int:
    """Every body byte served since request `since`: media, indexes, playlists, manifests."""
    return sum(request.bytes_sent for request in server.requests[since:])


@pytest.mark.parametrize("layout", ["dash", "hls", "mp4", "moov-last"])
async def test_a_clip_is_cut_from_its_own_bytes_and_then_served_from_the_cache(
    layout: str,
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    url = media.clip[layout]
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(f"{url} {ASKED}"))
    clip_choices = [text for text in keyboard.buttons if text.startswith("✂")]
    assert clip_choices, keyboard.buttons
    offer = chat.calls("sendMessage", "editMessageText")[-1].params["text"]
    assert "5:01–5:21" in offer

    served_before = len(media_requests.requests)
    since = chat.press(keyboard, keyboard.buttons[clip_choices[0]])
    sent = await chat.media(since, within=120)
    assert sent.method == "sendVideo"
    clip_path = fake_telegram.uploaded_path(sent.result["video"]["file_id"])
    info = await probe(clip_path)
    assert info.duration_s is not None and CLIP_S <= info.duration_s <= CLIP_S + 1.5
    size = clip_path.stat().st_size
    cuts = re.findall(rf"clip 301-321 cut from [\d.]+ s, {size} bytes, (\d+) fetched", bot.log)
    assert cuts and int(cuts[-1]) <= MOST_BYTES * size, cuts
    assert _served_bytes(media_requests, served_before) <= MOST_BYTES * size
    first = _first_frame_time(clip_path, media.path(media.clip["mp4"]), ASKED_START_S)
    assert ASKED_START_S - 1 <= first <= ASKED_START_S

    again = Conversation(fake_telegram)
    keyboard = await again.keyboard(again.say(f"{url} {ASKED}"))
    served_before = len(media_requests.requests)
    since = again.press(keyboard, keyboard.buttons[clip_choices[0]])
    resent = await again.media(since)
    assert resent.result["video"]["file_id"] == sent.result["video"]["file_id"]
    assert _served_bytes(media_requests, served_before) == 0
    assert "attach://" not in json.dumps(resent.params)


@pytest.mark.parametrize("layout", ["mp4", "hls"])
async def test_a_clips_sound_is_read_from_the_clips_span_of_a_muxed_source(
    layout: str,
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """The picture and the sound of a progressive MP4 or an HLS TS playlist are woven
    together: the clip's sound is cut from the clip's span of them, never from the whole
    source downloaded."""
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(f"{media.clip[layout]} {ASKED}"))
    sound = next(text for text in keyboard.buttons if text.startswith("✂ 🎵"))
    served_before = len(media_requests.requests)
    sent = await chat.media(chat.press(keyboard, keyboard.buttons[sound]), within=120)
    assert sent.method == "sendAudio"
    info = await probe(fake_telegram.uploaded_path(sent.result["audio"]["file_id"]))
    assert info.video is None and info.audio is not None
    assert info.duration_s is not None and CLIP_S - 0.5 <= info.duration_s <= CLIP_S + 1.5
    share = media.path(media.clip["mp4"]).stat().st_size * CLIP_S / CLIP_DURATION
    assert _served_bytes(media_requests, served_before) <= MOST_BYTES * share


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("2:05-1:20", "ends before it starts"),
        ("1:20-1:20", "is empty"),
        ("1:75-2:05", "can't read the times"),
        ("20:00-20:30", "starts after the end of the video (9:59)"),  # 599.98 s
    ],
)
async def test_a_range_that_cannot_be_cut_gets_a_plain_answer_and_the_whole_is_offered(
    asked: str, said: str, bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    since = chat.say(f"{media.clip['dash']} {asked}")
    answer = await chat.final_text(since, said, within=30)
    assert "inline_keyboard" not in answer.params.get("reply_markup", "")
    keyboard = await chat.keyboard(since)
    assert not any(text.startswith("✂") for text in keyboard.buttons)
    assert any(text.startswith("🎵") for text in keyboard.buttons)


async def test_a_range_on_a_playlist_link_is_answered_and_the_playlist_offered_whole(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    items = [media.clip["mp4"], media.clip["moov-last"]]
    feed = podcast_feed(media_requests, "/clips/feed.xml", items, title="Clips")
    chat = Conversation(fake_telegram)
    since = chat.say(f"{feed} {ASKED}")
    await chat.final_text(since, "can't be cut from a playlist", within=30)
    keyboard = await chat.keyboard(since)
    assert not any(text.startswith("✂") for text in keyboard.buttons)
    assert any(text.startswith("🎵") for text in keyboard.buttons)
