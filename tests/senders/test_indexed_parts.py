"""A remote source over the limit in parts planned from its indexes read ahead.

No part is cut by ffmpeg (the cutters fail if they are opened): each part's file is written
from the samples the source's index lists, its own `moov` first, and goes up while it is
fetched. Every kind whose index can be known ahead is delivered through the fake Bot API
from the loopback media server: a progressive MP4, a DASH pair of plain files, a DASH
SegmentBase pair (as YouTube serves it), segmented DASH, HLS fMP4 and audio only. Each part
decodes without an error, starts on a keyframe, has its `moov` before its `mdat` and is
under the limit; the parts' durations add up to the source's. A segmented source's first
part is fetched while its last fragments' heads are still being read.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import DownloadOptions, make_downloader
from mediabot.downloaders.streams import StreamGuard
from mediabot.media.cutters.files import Splitter
from mediabot.media.cutters.fragments import SegmentSplitter
from mediabot.media.faststart.index import FRAGMENT_HEAD_BYTES
from mediabot.media.probe import probe
from mediabot.media.sources import SegmentedSource, SplitSource
from mediabot.senders.base import DeliveryError, PartCallback, ResumePoint, SendTarget, SentPart
from mediabot.senders.large import LargeSender
from mediabot.senders.registry import make_stream_sender
from tests.support.disk import DiskSampler, eventually, listing
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.parts import first_video_packet_is_keyframe, top_boxes
from tests.support.segment_base import segment_base

from .conftest import accepted

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
OPEN = DownloadOptions(allow_private_urls=True)
KINDS = ["progressive", "pair", "segment-base", "dash", "hls-fmp4", "audio"]


@pytest.fixture(autouse=True)
def no_cutter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any cutter opened fails the delivery: every part here comes from the index."""

    async def refuse(self: object) -> None:
        raise AssertionError(f"{type(self).__name__} opened: a part cut by ffmpeg")

    monkeypatch.setattr(Splitter, "open", refuse)
    monkeypatch.setattr(SegmentSplitter, "open", refuse)
    yield


async def _source(
    kind: str, media: MediaSources, server: MediaServer, folder: Path
) -> tuple[SplitSource | SegmentedSource, int, float]:
    """The `kind` source, a limit that makes it about three parts, and its duration."""
    if kind == "segment-base":
        return segment_base(media, server, folder, OPEN), 3 * MIB, 48.0
    segmented_mp4 = media.segmented["dash"].replace("dash/manifest.mpd", "source.mp4")
    url, res, reference = {
        "progressive": (media.progressive_mp4, 360, media.progressive_mp4),
        "pair": (media.long_dash_mpd, 720, media.long_mp4),
        "dash": (media.segmented["dash"], 360, segmented_mp4),
        "hls-fmp4": (media.segmented["hls-fmp4"], 360, segmented_mp4),
        "audio": (media.long_audio_m4a, 0, media.long_audio_m4a),
    }[kind]
    plan = await make_downloader(url, res, options=OPEN).locate_streams()
    assert plan is not None and plan.estimated_bytes
    duration = (await probe(media.path(reference))).duration_s
    assert duration
    return plan.source, int(plan.estimated_bytes / 2.6), duration


class Indexed(NamedTuple):
    """A source read through its index, a limit that makes it about three parts, and its
    duration."""

    source: SplitSource | SegmentedSource
    limit: int
    duration: float


@pytest.fixture(params=["pair", "dash"])
async def indexed(
    request: pytest.FixtureRequest, media: MediaSources, media_requests: MediaServer, work: Path
) -> Indexed:
    """A DASH pair of plain files, or segmented DASH."""
    return Indexed(*await _source(request.param, media, media_requests, work))


def _sender(
    bot: Bot,
    source: SplitSource | SegmentedSource,
    work: Path,
    limit: int,
    *,
    resume: ResumePoint | None = None,
    on_part: PartCallback | None = None,
) -> LargeSender:
    return make_stream_sender(
        bot,
        source,
        SendTarget.for_media(77, "parts", "https://example.com/v"),
        work_dir=work,
        limit_bytes=limit,
        title="parts",
        resume=resume,
        on_part=on_part,
    )


async def _check_parts(
    telegram: FakeTelegram, parts: list[SentPart], limit: int, duration: float, audio: bool
) -> None:
    """Consecutive, under the limit, each decoding with its index first and (video) a
    keyframe first; their durations add up to `duration`."""
    assert [part.index for part in parts] == list(range(len(parts)))
    total = 0.0
    for part in parts:
        path = telegram.uploaded_path(part.file_id)
        assert path.stat().st_size == part.size_bytes <= limit
        kinds = top_boxes(path)
        assert kinds.index(b"moov") < kinds.index(b"mdat"), kinds
        process = await asyncio.create_subprocess_exec(
            *("ffmpeg", "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"),
            stderr=asyncio.subprocess.PIPE,
        )
        _, errors = await process.communicate()
        assert process.returncode == 0 and not errors.strip(), errors
        info = await probe(path)
        assert info.is_playable and info.audio is not None
        assert info.duration_s
        if not audio:
            assert first_video_packet_is_keyframe(path)
        total += info.duration_s
    assert total == pytest.approx(duration, abs=0.05 * len(parts))


@pytest.mark.parametrize("kind", KINDS)
async def test_each_kind_arrives_in_parts_planned_from_its_index(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    tmp_path: Path,
    kind: str,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    source, limit, duration = await _source(kind, media, media_requests, tmp_path)
    media_requests.throttle_bytes_per_second = 16 * MIB

    with DiskSampler(work).running() as disk:
        sent = await _sender(bot, source, work, limit).send()

    method = "sendAudio" if kind == "audio" else "sendVideo"
    calls = accepted(telegram, method)
    assert len(calls) == len(sent) >= 2
    assert {part.total for part in sent} == {len(sent)}
    for number, call in enumerate(calls, start=1):
        assert call.params["caption"].endswith(f"Part {number}/{len(sent)}")
    assert all(part.size_bytes >= 0.85 * limit for part in sent[:-1])
    await _check_parts(telegram, sent, limit, duration, audio=kind == "audio")
    assert disk.peak <= 2 * limit
    assert listing(work) == []


async def test_a_part_goes_up_before_it_is_all_fetched(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, media_requests: MediaServer, work: Path
) -> None:
    source, limit, _ = await _source("pair", media, media_requests, work)
    media_requests.throttle_bytes_per_second = 2 * MIB  # a part takes about a second
    delivery = asyncio.create_task(_sender(bot, source, work, limit).send())

    # the fake stores the first part's body while that part is still being fetched
    await eventually(lambda: telegram.stored_upload_bytes() > 0)
    on_disk = _sizes(work)
    sent = await delivery

    assert on_disk and on_disk[0] < sent[0].size_bytes
    assert listing(work) == []


@dataclass
class _HeldBack:
    """A segmented DASH delivery whose last video fragment the origin keeps back."""

    delivery: asyncio.Task[list[SentPart]]
    held: threading.Event
    last: str
    limit: int
    duration: float


async def _held_back(bot: Bot, media: MediaSources, server: MediaServer, work: Path) -> _HeldBack:
    """Started, and past the point where its first part's samples are fetched."""
    source, limit, duration = await _source("dash", media, server, work)
    assert isinstance(source, SegmentedSource)
    fragments = {urlsplit(item.url).path for track in source.tracks for item in track.fragments}
    last = urlsplit(source.tracks[0].fragments[-1].url).path
    held = server.hold(last)
    delivery = asyncio.create_task(_sender(bot, source, work, limit).send())
    # the first part is planned from the fragments read so far and its samples fetched
    await eventually(lambda: bool(_sample_reads(server, fragments)))
    return _HeldBack(delivery, held, last, limit, duration)


async def test_a_segmented_part_is_fetched_before_the_last_fragment_head_is_read(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, media_requests: MediaServer, work: Path
) -> None:
    held_back = await _held_back(bot, media, media_requests, work)

    assert [request.path for request in media_requests.requests].count(held_back.last) == 1
    # its upload announces the count, which needs every fragment: it waits
    assert not telegram.calls_of("sendVideo") and telegram.stored_upload_bytes() == 0
    held_back.held.set()
    sent = await held_back.delivery

    calls = accepted(telegram, "sendVideo")
    assert len(calls) == len(sent) >= 2
    for number, call in enumerate(calls, start=1):
        assert call.params["caption"].endswith(f"Part {number}/{len(sent)}")
    await _check_parts(telegram, sent, held_back.limit, held_back.duration, audio=False)
    assert listing(work) == []


async def test_a_cancel_while_the_fragment_heads_are_read_leaves_nothing(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, media_requests: MediaServer, work: Path
) -> None:
    delivery = (await _held_back(bot, media, media_requests, work)).delivery

    delivery.cancel()
    with pytest.raises(asyncio.CancelledError):
        await delivery

    assert not telegram.calls_of("sendVideo")
    assert listing(work) == []


async def test_a_413_plans_the_rest_again_under_a_lower_limit(
    bot: Bot, telegram: FakeTelegram, work: Path, indexed: Indexed
) -> None:
    source, limit, duration = indexed
    telegram.upload_limit_bytes = int(0.7 * limit)  # Telegram takes less than we were told

    sent = await _sender(bot, source, work, limit).send()

    statuses = [call.status for call in telegram.calls_of("sendVideo")]
    # each refusal lowers the limit to 85 % of the refused part, until Telegram takes it
    assert statuses[0] == 413 and statuses.count(413) <= 3
    assert [item.size for item in telegram.sent_media()] == [part.size_bytes for part in sent]
    await _check_parts(telegram, sent, telegram.upload_limit_bytes, duration, audio=False)
    assert listing(work) == []


async def test_a_resumed_delivery_never_sends_a_part_twice(
    bot: Bot, telegram: FakeTelegram, work: Path, indexed: Indexed
) -> None:
    source, limit, duration = indexed
    first_run: list[SentPart] = []

    async def stop_after_first(part: SentPart) -> None:
        # Telegram refuses the next upload, and a 400 is not retried: the delivery dies
        first_run.append(part)
        telegram.fail_next("sendVideo", error_code=400, description="Bad Request: chat not found")

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await _sender(bot, source, work, limit, on_part=stop_after_first).send()
    assert len(first_run) == 1 and listing(work) == []

    done = first_run[0]
    resume = ResumePoint(next_index=1, start_s=done.end_s or 0.0, total_hint=done.total)
    rest = await _sender(bot, source, work, limit, resume=resume).send()

    assert rest[0].index == 1 and rest[0].start_s == pytest.approx(done.end_s)
    assert {part.total for part in rest} == {done.total}
    assert len(accepted(telegram, "sendVideo")) == len(first_run + rest)
    await _check_parts(telegram, first_run + rest, limit, duration, audio=False)
    assert listing(work) == []


async def test_a_local_server_gets_each_complete_part_by_its_path(
    local_bot: Bot, telegram: FakeTelegram, work: Path, indexed: Indexed
) -> None:
    sent = await _sender(local_bot, indexed.source, work, indexed.limit).send()

    calls = accepted(telegram, "sendVideo")
    assert len(calls) == len(sent) >= 2
    assert all(call.params["video"].startswith("file://") for call in calls)
    assert listing(work) == []


async def test_a_source_that_breaks_off_mid_part_fails_and_leaves_nothing(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, media_requests: MediaServer, work: Path
) -> None:
    url = media_requests.add_file("breaks/long.mp4", media.path(media.long_mp4), "video/mp4")
    source = SplitSource((url,), MediaKind.VIDEO, url_check=StreamGuard.for_options(OPEN))
    media_requests.throttle_bytes_per_second = 4 * MIB
    delivery = asyncio.create_task(_sender(bot, source, work, 3 * MIB).send())
    # the first part is accepted; then the file disappears from the origin
    await eventually(lambda: bool(accepted(telegram, "sendVideo")))
    media_requests.add_route("/breaks/long.mp4", 410, b"gone")
    media_requests.throttle_bytes_per_second = None

    with pytest.raises(DeliveryError):
        await delivery

    assert 1 <= len(accepted(telegram, "sendVideo")) < 3
    assert listing(work) == []


async def test_a_cancel_mid_upload_leaves_nothing(
    bot: Bot, telegram: FakeTelegram, media_requests: MediaServer, work: Path, indexed: Indexed
) -> None:
    media_requests.throttle_bytes_per_second = 2 * MIB
    delivery = asyncio.create_task(_sender(bot, indexed.source, work, indexed.limit).send())
    await eventually(lambda: telegram.stored_upload_bytes() > 0)

    delivery.cancel()
    with pytest.raises(asyncio.CancelledError):
        await delivery

    assert not accepted(telegram, "sendVideo")
    assert listing(work) == []


def _sample_reads(server: MediaServer, fragments: set[str]) -> list[str]:
    """The requests for more of a fragment than its head: its samples, fetched for a part."""
    found = []
    for request in server.requests:
        if request.path not in fragments:
            continue
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", request.headers.get("Range", ""))
        if match and int(match[2]) + 1 - int(match[1]) > FRAGMENT_HEAD_BYTES:
            found.append(request.path)
    return found


def _sizes(folder: Path) -> list[int]:
    return [path.stat().st_size for path in sorted(folder.iterdir())]
