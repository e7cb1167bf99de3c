"""Edges of two changes, end to end on `mediabot run`: what a lookup found kept with the
offer (a DASH format's long fragment list as runs, rebuilt on the press), and twins (two
requests for the same media: the later one waits for the earlier one's fetch and gets the
file from the cache, no second upload).

A hostile manifest (names thousands of characters long; one segment on a private address)
is delivered or refused on the press, never fetched from the private address, and the bot
serves another user beside it; twins give one upload and one resend, whether the first
user cancels mid-fetch or the server stalls mid-download and comes back.
"""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediabot.media.probe import probe
from tests.support.conversation import Conversation, Keyboard
from tests.support.disk import eventually
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

SEGMENTS = 40
"""Segments per track of the manifests made here: past `fragment_runs.MIN_FRAGMENTS` (32),
a long list kept as runs, yet a delivery of a few seconds (the first 80 s of the clip)."""
LONG_NAME = 3000
"""Characters of the segment names of the long-named manifest."""
_NS = {"m": "urn:mpeg:dash:schema:mpd:2011"}
_WAITS = "the same media is being fetched"
"""What the bot logs when a twin waits for the earlier one's fetch."""
_SENDS = ("sendVideo", "sendAudio", "sendDocument", "editMessageMedia")


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    """127.0.0.1 stands for a public CDN; 127.0.0.2 (the trap) is a private address."""
    data_dir = tmp_path_factory.mktemp("edges")
    with mediabot_run(
        fake_telegram,
        data_dir,
        ALLOW_PRIVATE_URLS="false",
        ALLOWED_PRIVATE_NETWORKS="127.0.0.1/32",
    ) as process:
        yield process
    assert "Traceback" not in process.log, process.log[-6000:]


@dataclass(frozen=True)
class _Track:
    id: str
    content_type: str
    representation: dict[str, str]
    timescale: str
    durations: list[int]
    """Of its first `SEGMENTS` segments, in the timescale."""


def _tracks(manifest: Path) -> list[_Track]:
    """The clip's DASH tracks, their timelines cut to the first `SEGMENTS` segments."""
    root = ET.parse(manifest).getroot()  # noqa: S314 (the clip's own, made by ffmpeg)
    tracks = []
    for adaptation in root.iterfind(".//m:AdaptationSet", _NS):
        representation = adaptation.find("m:Representation", _NS)
        assert representation is not None
        template = representation.find("m:SegmentTemplate", _NS)
        assert template is not None
        durations: list[int] = []
        for s in template.iterfind(".//m:S", _NS):
            durations += [int(s.get("d", "0"))] * (int(s.get("r", "0")) + 1)
        tracks.append(
            _Track(
                id=representation.get("id", ""),
                content_type=adaptation.get("contentType", ""),
                representation=dict(representation.attrib),
                timescale=template.get("timescale", "1"),
                durations=durations[:SEGMENTS],
            )
        )
    return tracks


def _representation(track: _Track, inner: str) -> str:
    attrs = " ".join(f'{key}="{value}"' for key, value in track.representation.items())
    return (
        f'<AdaptationSet contentType="{track.content_type}" segmentAlignment="true">'
        f"<Representation {attrs}>{inner}</Representation></AdaptationSet>"
    )


def _mpd(tracks: list[_Track], adaptations: list[str]) -> str:
    seconds = sum(tracks[0].durations) / int(tracks[0].timescale)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"'
        ' profiles="urn:mpeg:dash:profile:isoff-live:2011"'
        f' type="static" mediaPresentationDuration="PT{seconds:.1f}S" minBufferTime="PT4.0S">'
        f'<Period id="0" start="PT0.0S">{"".join(adaptations)}</Period></MPD>'
    )


def _long_named_manifest(media: MediaSources, server: MediaServer, prefix: str) -> str:
    """A SegmentTemplate + SegmentTimeline manifest of the clip's first `SEGMENTS` segments
    whose segment names are `LONG_NAME` characters long (each served from the clip's file)."""
    folder = media.path(media.clip["dash"]).parent
    tracks = _tracks(folder / "manifest.mpd")
    stem = "n" * LONG_NAME
    adaptations = []
    for track in tracks:
        server.add_file(
            f"{prefix}/{stem}-init{track.id}.m4s",
            folder / f"init-stream{track.id}.m4s",
            "video/mp4",
        )
        for number in range(1, SEGMENTS + 1):
            server.add_file(
                f"{prefix}/{stem}-{track.id}-{number:05d}.m4s",
                folder / f"chunk-stream{track.id}-{number:05d}.m4s",
                "video/mp4",
            )
        timeline = f'<S t="0" d="{track.durations[0]}"/>' + "".join(
            f'<S d="{d}"/>' for d in track.durations[1:]
        )
        adaptations.append(
            _representation(
                track,
                f'<SegmentTemplate timescale="{track.timescale}" startNumber="1"'
                f' initialization="{stem}-init$RepresentationID$.m4s"'
                f' media="{stem}-$RepresentationID$-$Number%05d$.m4s">'
                f"<SegmentTimeline>{timeline}</SegmentTimeline></SegmentTemplate>",
            )
        )
    return server.add_route(
        f"{prefix}/manifest.mpd",
        body=_mpd(tracks, adaptations),
        headers={"Content-Type": "application/dash+xml"},
    )


def _listed_manifest(
    media: MediaSources, server: MediaServer, path: str, trapped: int | None = None
) -> str:
    """A SegmentList manifest of the clip's first `SEGMENTS` segments, absolute addresses on
    127.0.0.1, but segment `trapped` (0: the first) of each track, if any, on 127.0.0.2."""
    folder = media.path(media.clip["dash"]).parent
    base = media.clip["dash"].rsplit("/", 1)[0]
    tracks = _tracks(folder / "manifest.mpd")
    adaptations = []
    for track in tracks:
        urls = [f"{base}/chunk-stream{track.id}-{n:05d}.m4s" for n in range(1, SEGMENTS + 1)]
        if trapped is not None:
            urls[trapped] = urls[trapped].replace("127.0.0.1", "127.0.0.2")
        listed = "".join(f'<SegmentURL media="{url}"/>' for url in urls)
        timeline = f'<S t="0" d="{track.durations[0]}"/>' + "".join(
            f'<S d="{d}"/>' for d in track.durations[1:]
        )
        adaptations.append(
            _representation(
                track,
                f'<SegmentList timescale="{track.timescale}">'
                f'<Initialization sourceURL="{base}/init-stream{track.id}.m4s"/>'
                f"<SegmentTimeline>{timeline}</SegmentTimeline>{listed}</SegmentList>",
            )
        )
    return server.add_route(
        path, body=_mpd(tracks, adaptations), headers={"Content-Type": "application/dash+xml"}
    )


def _sent(chat: Conversation) -> list[ApiCall]:
    return [call for call in chat.calls(*_SENDS) if call.ok]


async def _served_beside(telegram: FakeTelegram, media: MediaSources) -> None:
    """Another user's link is offered and delivered."""
    other = Conversation(telegram)
    keyboard = await other.keyboard(other.say(media.progressive_mp4))
    sent = await other.media(other.press(keyboard, keyboard.data("🎵")))
    assert sent.sent_file  # uploaded, or resent from the cache


# -- what a lookup found, kept as runs ----------------------------------------------------------


async def test_a_timeline_of_names_thousands_of_characters_long_is_delivered(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """The press downloads from the offer's kept info (no second look at the manifest): the
    long names come back whole from their runs, every segment is fetched once."""
    manifest = _long_named_manifest(media, media_requests, "/edges/long")
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(manifest), within=60)
    looked_up = media_requests.request_count("/edges/long/manifest.mpd")
    since = len(media_requests.requests)
    sent = await chat.media(chat.press(keyboard, keyboard.data("🎵")), within=60)
    assert sent.method == "sendAudio"
    info = await probe(fake_telegram.uploaded_path(sent.result["audio"]["file_id"]))
    assert info.audio is not None and info.duration_s is not None
    assert info.duration_s == pytest.approx(80, abs=3)
    assert media_requests.request_count("/edges/long/manifest.mpd") == looked_up
    segments = [
        request
        for request in media_requests.requests[since:]
        if request.path.startswith("/edges/long/n") and "-init" not in request.path
    ]
    # each segment's head is read first (at most 8 KiB), then its rest from the head's
    # first box on: no segment is fetched twice
    folder = media.path(media.clip["dash"]).parent
    sizes = sum(
        (folder / f"chunk-stream1-{number:05d}.m4s").stat().st_size
        for number in range(1, SEGMENTS + 1)
    )
    fetched = sum(request.bytes_sent for request in segments)
    assert sizes <= fetched <= sizes + 8192 * SEGMENTS, (fetched, sizes)
    assert len(segments) <= 2 * SEGMENTS
    assert len({request.path for request in segments}) == SEGMENTS
    assert all(len(request.path) > LONG_NAME for request in segments)


@pytest.mark.parametrize("trapped", [0, 1, SEGMENTS // 2])
async def test_a_segment_list_with_one_entry_on_a_private_address_is_refused_on_the_press(
    trapped: int,
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """The entry on 127.0.0.2 is the head the runs keep as it is (0), the first of the
    counted ones (1), or one in the middle (no runs at all): refused, the trap untouched."""
    port = int(media.base_url.rsplit(":", 1)[1])
    manifest = _listed_manifest(media, media_requests, f"/edges/trap{trapped}.mpd", trapped)
    chat = Conversation(fake_telegram)
    with MediaServer(media.dir, host="127.0.0.2", port=port) as trap:
        keyboard = await chat.keyboard(chat.say(manifest), within=60)
        since = chat.press(keyboard, keyboard.data("🎵"))
        answer = await chat.final_text(since, "private", within=60)
        await _served_beside(fake_telegram, media)
        assert trap.requests == []
    assert "inline_keyboard" not in answer.params.get("reply_markup", "")
    assert not _sent(chat)


# -- twins --------------------------------------------------------------------------------------


async def _ended(bot: MediabotProcess, data: str) -> None:
    """Wait until the request an offer's button `data` names is recorded as delivered:
    whatever it sends, it has sent by then."""
    request = uuid.UUID(hex=data.split(":")[1])
    await asyncio.to_thread(bot.wait_for_log, f"job {request}: delivered", timeout=30)


def _fresh_audio(media: MediaSources, server: MediaServer) -> str:
    """The long audio under a path of its own: media no other test fetched (not cached)."""
    return server.add_file(
        f"/edges/{uuid.uuid4().hex}/audio.m4a", media.path(media.long_audio_m4a), "audio/mp4"
    )


async def _two_offers(
    telegram: FakeTelegram, url: str
) -> tuple[Conversation, Keyboard, Conversation, Keyboard]:
    """Two users' offers of `url`, made at full speed (the lookup reads the source too)."""
    first, second = Conversation(telegram), Conversation(telegram)
    first_keys = await first.keyboard(first.say(url), within=60)
    second_keys = await second.keyboard(second.say(url), within=60)
    return first, first_keys, second, second_keys


async def test_twins_pressed_at_once_while_the_server_drips_give_one_upload_and_one_resend(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    url = _fresh_audio(media, media_requests)
    first, first_keys, second, second_keys = await _two_offers(fake_telegram, url)
    first_data, second_data = first_keys.data("🎵"), second_keys.data("🎵")
    waited = bot.log.count(_WAITS)
    media_requests.throttle_bytes_per_second = 400_000
    try:
        first_since = first.press(first_keys, first_data)
        second_since = second.press(second_keys, second_data)
        sent = [await first.media(first_since), await second.media(second_since)]
    finally:
        media_requests.throttle_bytes_per_second = None
    assert [bool(call.files) for call in sent].count(True) == 1, "one upload, one resend"
    assert len({call.result["audio"]["file_unique_id"] for call in sent}) == 1
    assert bot.log.count(_WAITS) == waited + 1
    for data in (first_data, second_data):
        await _ended(bot, data)
    assert len(_sent(first)) == len(_sent(second)) == 1


async def test_the_earlier_twin_cancelled_mid_fetch_leaves_the_file_to_the_later_once(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    url = _fresh_audio(media, media_requests)
    first, first_keys, second, second_keys = await _two_offers(fake_telegram, url)
    first_data, second_data = first_keys.data("🎵"), second_keys.data("🎵")
    request = uuid.UUID(hex=first_data.split(":")[1])
    waited = bot.log.count(_WAITS)
    media_requests.throttle_bytes_per_second = 200_000
    try:
        first_since = first.press(first_keys, first_data)
        await fake_telegram.wait_for(
            lambda call: first.in_chat(call) and "Downloading" in call.params.get("text", ""),
            since=first_since,
        )
        second_since = second.press(second_keys, second_data)
        await asyncio.to_thread(bot.wait_for_log, _WAITS, timeout=30, count=waited + 1)
        first.press(first_keys, first_keys.data("✖"))
        await first.final_text(first_since, "Cancelled", within=15)
        await asyncio.to_thread(
            bot.wait_for_log, f"job {request}: cancelled by the user", timeout=15
        )
    finally:
        media_requests.throttle_bytes_per_second = None
    sent = await second.media(second_since, within=60)
    assert sent.method in ("sendAudio", "editMessageMedia")
    await _ended(bot, second_data)
    assert len(_sent(second)) == 1
    assert not _sent(first)


async def test_a_press_whose_server_stalls_mid_download_gets_the_file_once_on_release(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """The offer is made at full speed; after it, segment 5 of the audio is held: the
    download stalls there until it is released, then the file comes, once."""
    manifest = _listed_manifest(media, media_requests, "/edges/held.mpd")
    held_path = "/clip/dash/chunk-stream1-00005.m4s"
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(manifest), within=60)
    gate = media_requests.hold(held_path)
    data = keyboard.data("🎵")
    try:
        since = chat.press(keyboard, data)
        await eventually(lambda: media_requests.request_count(held_path) > 0, timeout_s=30)
        assert media_requests.request_count(held_path) == 1
        assert not _sent(chat), "nothing is sent while a segment is held"
    finally:
        gate.set()
    sent = await chat.media(since, within=60)
    assert sent.method == "sendAudio"
    await _ended(bot, data)
    assert len(_sent(chat)) == 1
