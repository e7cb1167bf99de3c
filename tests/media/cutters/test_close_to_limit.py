"""Parts close to the limit: every part but the last at least 90 % of it, never over it.

A source made with ffmpeg (a keyframe every 0.5 s) and a limit of a 4.6th of its size: each
part starts on a keyframe, decodes, has its index (moov) before its data (mdat), and the
parts' durations add up to the source's. Through the large sender too, against the fake
Bot API: no more parts than the size needs, plus one; and read over HTTP, as one progressive
MP4 or as a video-only MP4 and an M4A, the origin sending each byte about once and the work
folder never holding more than three parts.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from mediabot.config import load_settings
from mediabot.domain.enums import MediaKind
from mediabot.media.cutters.files import Splitter
from mediabot.media.parts import CutPart
from mediabot.media.plan import MIN_FILL
from mediabot.media.sources import SplitSource
from mediabot.senders.base import SendTarget
from mediabot.senders.large import LargeVideoSender
from mediabot.telegram.client import create_bot
from mediabot.telegram.pacing import Pacer, Rate
from tests.support.disk import DiskSampler, listing
from tests.support.fake_telegram import FakeTelegram
from tests.support.media_server import MediaServer
from tests.support.parts import check_parts, duration, keyframe_times

pytestmark = pytest.mark.integration

FPS = 24
DURATION_S = 40.0
KEYFRAME_EVERY = FPS // 2  # frames: a keyframe every 0.5 s
SHARE = 4.6


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s of 640x360 H.264 at about 700 kbit/s with AAC: about 4 MB."""
    path = tmp_path_factory.mktemp("close") / "source.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate={FPS}:duration={DURATION_S:g}",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={DURATION_S:g}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-g", str(KEYFRAME_EVERY), "-keyint_min", str(KEYFRAME_EVERY), "-sc_threshold", "0",
         "-b:v", "700k", "-maxrate", "800k", "-bufsize", "400k",
         "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart", str(path)],
        check=True,
        timeout=300,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def served(source: Path) -> Iterator[MediaServer]:
    """The source on a loopback origin, throttled: as it is, and as a video-only MP4 plus an
    M4A (YouTube's way), neither with its index first."""
    folder = source.parent
    for name, stream in (("video.mp4", "v"), ("audio.m4a", "a")):
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source),
             "-map", f"0:{stream}", "-c", "copy", str(folder / name)],
            check=True,
            timeout=60,
        )  # fmt: skip
    with MediaServer(folder) as server:
        server.throttle_bytes_per_second = 8 * 1024 * 1024
        yield server


def _limit(source: Path) -> int:
    return int(source.stat().st_size / SHARE)


def _most_parts(source: Path, limit: int) -> int:
    """As many parts as the size needs, plus one."""
    return math.ceil(source.stat().st_size / limit) + 1


def _check_parts(source: Path, paths: list[Path], limit: int) -> None:
    check_parts(
        paths, limit, min_fill=MIN_FILL, total_s=duration(source), tolerance_s=len(paths) / FPS
    )


async def test_every_part_but_the_last_is_close_to_the_limit(source: Path, tmp_path: Path) -> None:
    limit = _limit(source)
    keyframes = keyframe_times(source)
    parts: list[CutPart] = []
    async with Splitter(SplitSource((source,), MediaKind.VIDEO), tmp_path) as splitter:
        await splitter.open()
        await splitter.survey(0.0, limit)
        total = splitter.estimate_parts(0.0, limit)
        start, index = 0.0, 0
        while True:
            target = splitter.part_target(start, total - index, limit)
            part = await splitter.cut(start, index, limit, target_bytes=target)
            parts.append(part)
            if part.is_last:
                break
            start, index = part.end_s, index + 1
    assert len(parts) == total <= _most_parts(source, limit)
    # each part starts where the source has a keyframe, and the next begins where it ends
    for part in parts:
        assert min(abs(part.start_s - time) for time in keyframes) < 0.001, part.start_s
    assert [part.start_s for part in parts[1:]] == [part.end_s for part in parts[:-1]]
    _check_parts(source, [part.path for part in parts], limit)


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """mediabot's own bot on the fake cloud Bot API, paced for tests."""
    telegram.local_mode = False
    settings = load_settings(bot_token=telegram.token, telegram_api_url=telegram.base_url)
    pacer = Pacer(per_chat=Rate(1000.0, burst=100), per_group=Rate(1000.0, burst=100))
    bot = create_bot(settings, pacer=pacer)
    yield bot
    assert isinstance(bot.session, AiohttpSession)
    client = await bot.session.create_session()
    await client.close()


async def test_the_large_sender_sends_no_more_parts_than_the_size_needs(
    bot: Bot, telegram: FakeTelegram, source: Path, tmp_path: Path
) -> None:
    limit = _limit(source)
    sender = LargeVideoSender(
        bot,
        SendTarget.for_media(77, "close", "https://example.com/close"),
        SplitSource((source,), MediaKind.VIDEO),
        work_dir=tmp_path,
        limit_bytes=limit,
        title="close",
    )
    sent = await sender.send()

    calls = [call for call in telegram.calls_of("sendVideo") if call.ok]
    assert len(calls) == len(sent) <= _most_parts(source, limit)
    uploads = []
    for number, (call, part) in enumerate(zip(calls, sent, strict=True), start=1):
        upload = call.file("video")
        assert upload is not None and upload.size == part.size_bytes
        assert call.params["caption"].endswith(f"Part {number}/{len(sent)}")
        uploads.append(upload.path)
    _check_parts(source, uploads, limit)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("names", [("source.mp4",), ("video.mp4", "audio.m4a")])
async def test_a_remote_source_is_sent_close_to_the_limit_with_three_parts_of_disk_at_most(
    bot: Bot,
    telegram: FakeTelegram,
    source: Path,
    served: MediaServer,
    tmp_path: Path,
    names: tuple[str, ...],
) -> None:
    limit = _limit(source)
    served.reset()
    sender = LargeVideoSender(
        bot,
        SendTarget.for_media(77, "close", "https://example.com/close"),
        SplitSource(tuple(served.url(name) for name in names), MediaKind.VIDEO),
        work_dir=tmp_path,
        limit_bytes=limit,
        title="close",
    )
    with DiskSampler(tmp_path).running() as disk:
        sent = await sender.send()

    calls = [call for call in telegram.calls_of("sendVideo") if call.ok]
    assert len(calls) == len(sent) <= _most_parts(source, limit)
    uploads = [call.file("video") for call in calls]
    assert all(upload is not None for upload in uploads)
    _check_parts(source, [upload.path for upload in uploads if upload is not None], limit)
    assert 0 < disk.peak <= 3 * limit, (disk.peak / limit, disk.at_peak)
    assert listing(tmp_path) == []
    # planned from the index, cut once: the origin sent each byte about once (a range
    # request given up sends some bytes for nothing: what was in flight, up to ~0.5 MB)
    size = sum((source.parent / name).stat().st_size for name in names)
    assert sum(request.bytes_sent for request in served.requests) <= 1.25 * size
