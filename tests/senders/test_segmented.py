"""Fragmented sources (HLS TS and fMP4, master or media playlist, segmented DASH) delivered
as parts cut while the fragments arrive: `locate_streams` -> `make_stream_sender` -> `send()`.

Every kind is the same 40 s of media (a keyframe every 0.5 s) served by the loopback media
server, throttled; the upload limit is 1.5 MiB, so each delivery is five parts. The work
folder is sampled every 5 ms while it runs: it never holds more than three parts' worth.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import DownloadOptions, make_downloader
from mediabot.downloaders.streams import StreamGuard, StreamPlan
from mediabot.media.cutters.fragments import SegmentSplitter
from mediabot.media.fragments.playlist import FragmentTrack
from mediabot.media.parts import SplitError
from mediabot.media.plan import MIN_FILL
from mediabot.media.probe import probe
from mediabot.media.sources import SegmentedSource
from mediabot.media.tools import run_tool
from mediabot.senders.base import DeliveryError, ResumePoint, SendTarget, SentPart
from mediabot.senders.registry import make_stream_sender
from tests.senders.results import stream_sender
from tests.support.disk import DiskSampler, listing
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import SEGMENTED_DURATION, MediaSources
from tests.support.media_server import MediaServer
from tests.support.parts import check_parts

from .conftest import accepted

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
LIMIT = 3 * MIB // 2
KINDS = ["hls-ts", "hls-ts-master", "hls-fmp4", "dash"]
OPEN = DownloadOptions(allow_private_urls=True)
THROTTLE = 16 * MIB


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """Each kind of fragmented source the bench serves."""
    return str(request.param)


@pytest.fixture
async def plan(media: MediaSources, kind: str, tmp_path: Path) -> StreamPlan:
    """The located streams of the `kind` source, at 360p."""
    plan = await make_downloader(media.segmented[kind], 360, options=OPEN).locate_streams(
        tmp_path / "cover"
    )
    assert plan is not None and isinstance(plan.source, SegmentedSource)
    return plan


def _check_parts(telegram: FakeTelegram, parts: list[SentPart]) -> None:
    """Under the limit, all but the last close to it, each a keyframe first, decoding,
    index before data, and the durations adding up to the source's."""
    assert [part.index for part in parts] == list(range(len(parts)))
    paths = [telegram.uploaded_path(part.file_id) for part in parts]
    check_parts(paths, LIMIT, min_fill=MIN_FILL, total_s=SEGMENTED_DURATION, tolerance_s=0.2)


async def test_a_fragmented_source_arrives_in_parts_with_three_parts_of_disk_at_most(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    kind: str,
    plan: StreamPlan,
    work: Path,
) -> None:
    assert plan.kind is MediaKind.VIDEO
    # a media playlist's lookup probes its first fragments; measure the delivery alone
    media_requests.reset()
    media_requests.throttle_bytes_per_second = THROTTLE
    with DiskSampler(work).running() as disk:
        sent = await stream_sender(bot, plan, work, LIMIT).send()

    assert len(accepted(telegram, "sendVideo")) == len(sent) == 5
    _check_parts(telegram, sent)
    assert {part.total for part in sent} == {len(sent)}
    assert 0 < disk.peak <= 3 * LIMIT, (disk.peak / LIMIT, disk.at_peak)
    assert listing(work) == []
    # each fragment was read once
    served = sum(request.bytes_sent for request in media_requests.requests)
    folder = media.path(media.segmented[kind]).parent
    assert served <= 1.05 * sum(path.stat().st_size for path in folder.rglob("*"))


async def test_a_delivery_interrupted_at_part_two_resumes_without_resending_part_one(
    bot: Bot, telegram: FakeTelegram, media_requests: MediaServer, plan: StreamPlan, work: Path
) -> None:
    first_run: list[SentPart] = []

    async def stop_after_first(part: SentPart) -> None:
        first_run.append(part)
        telegram.fail_next("sendVideo", error_code=400, description="Bad Request: chat not found")

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await stream_sender(bot, plan, work, LIMIT, on_part=stop_after_first).send()
    assert len(first_run) == 1
    assert listing(work) == []

    done = first_run[-1]
    resume = ResumePoint(next_index=1, start_s=done.end_s or 0.0, total_hint=done.total)
    rest = await stream_sender(bot, plan, work, LIMIT, resume=resume).send()

    assert [part.index for part in rest] == [1, 2, 3, 4]
    assert rest[0].start_s == pytest.approx(done.end_s)
    assert len(accepted(telegram, "sendVideo")) == 5
    _check_parts(telegram, first_run + rest)
    assert listing(work) == []


@pytest.mark.parametrize("case", ["fragment", "redirect", "key"])
async def test_a_playlist_fragment_on_a_private_address_is_refused_unrequested(
    media: MediaSources, media_requests: MediaServer, case: str, work: Path
) -> None:
    port = int(media_requests.base_url.rsplit(":", 1)[1])
    folder = media.path(media.segmented["hls-ts"]).parent
    base = media.segmented["hls-ts"].rsplit("/", 1)[0]
    lines = [
        f"{base}/{line}" if line.endswith(".ts") else line
        for line in (folder / "index.m3u8").read_text().splitlines()
    ]
    trapped = f"{base}/seg002.ts".replace("127.0.0.1", "127.0.0.2")
    if case == "fragment":
        lines = [trapped if line.endswith("seg002.ts") else line for line in lines]
    elif case == "redirect":
        moved = media_requests.add_redirect("/moved/seg002.ts", trapped)
        lines = [moved if line.endswith("seg002.ts") else line for line in lines]
    else:  # the key of the third fragment on; the first two are clear
        third = next(i for i, line in enumerate(lines) if line.endswith("seg002.ts"))
        key = trapped.replace("seg002.ts", "key.bin")
        lines.insert(third - 1, f'#EXT-X-KEY:METHOD=AES-128,URI="{key}"')
    url = media_requests.add_route(
        f"/cases/trapped-{case}.m3u8",
        body="\n".join(lines),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    guarded = DownloadOptions(allow_private_urls=False, allowed_private_networks=("127.0.0.1/32",))
    source = SegmentedSource(
        (FragmentTrack(playlist_url=url),),
        MediaKind.VIDEO,
        duration_s=SEGMENTED_DURATION,
        url_check=StreamGuard.for_options(guarded),
    )
    with MediaServer(media_requests.root, host="127.0.0.2", port=port) as trap:
        with pytest.raises(SplitError, match="refused"):
            async with SegmentSplitter(source, work) as splitter:
                start, index = 0.0, 0
                while True:
                    part = await splitter.cut(start, index, LIMIT)
                    part.path.unlink()
                    start, index = part.end_s, index + 1
        assert trap.requests == []
    assert listing(work) == []
    assert media_requests.request_count("/segmented/hls-ts/seg001.ts") == 1


async def test_a_stream_that_breaks_midway_is_a_delivery_error(
    bot: Bot,
    telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    work: Path,
) -> None:
    folder = media.path(media.segmented["hls-ts"]).parent
    lines = (folder / "index.m3u8").read_text().splitlines()
    base = media.segmented["hls-ts"].rsplit("/", 1)[0]
    body = "\n".join(
        f"{base}/missing.ts"
        if line == "seg006.ts"
        else (f"{base}/{line}" if line.endswith(".ts") else line)
        for line in lines
    )
    url = media_requests.add_route(
        "/cases/broken.m3u8", body=body, headers={"Content-Type": "application/vnd.apple.mpegurl"}
    )
    broken = SegmentedSource(
        (FragmentTrack(playlist_url=url),), MediaKind.VIDEO, duration_s=SEGMENTED_DURATION
    )
    sender = make_stream_sender(
        bot,
        broken,
        SendTarget.for_media(77, "Broken", url),
        work_dir=work,
        limit_bytes=LIMIT,
        title="Broken",
    )
    with pytest.raises(DeliveryError, match="HTTP 404"):
        await sender.send()
    assert len(accepted(telegram, "sendVideo")) >= 1
    assert listing(work) == []


async def test_an_aes128_playlist_is_decrypted_fragment_by_fragment(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path, work: Path
) -> None:
    source = media.path(media.segmented["hls-ts"]).parent.parent / "source.mp4"
    folder = media.dir / "segmented-aes"
    folder.mkdir(exist_ok=True)
    (folder / "key.bin").write_bytes(bytes(range(16)))
    key_url = f"{media.base_url}/segmented-aes/key.bin"
    (folder / "key.info").write_text(f"{key_url}\n{folder / 'key.bin'}\n")
    await run_tool(
        ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(source), "-c", "copy",
         "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
         "-hls_key_info_file", str(folder / "key.info"),
         "-hls_segment_filename", str(folder / "seg%03d.ts"), str(folder / "index.m3u8")],
    )  # fmt: skip
    assert "METHOD=AES-128" in (folder / "index.m3u8").read_text()
    source_info = SegmentedSource(
        (FragmentTrack(playlist_url=f"{media.base_url}/segmented-aes/index.m3u8"),),
        MediaKind.VIDEO,
        duration_s=SEGMENTED_DURATION,
    )
    kept = tmp_path / "parts"
    kept.mkdir()
    paths: list[Path] = []
    async with SegmentSplitter(source_info, work) as splitter:
        start, index = 0.0, 0
        while True:
            part = await splitter.cut(start, index, LIMIT)
            paths.append(part.path.rename(kept / part.path.name))
            if part.is_last:
                break
            start, index = part.end_s, index + 1
    check_parts(paths, LIMIT, min_fill=MIN_FILL, total_s=SEGMENTED_DURATION, tolerance_s=0.2)
    assert media_requests.request_count("/segmented-aes/key.bin") == 1  # fetched once
    assert listing(work) == []


async def test_sound_only_from_segmented_dash_arrives_as_m4a_parts(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, work: Path
) -> None:
    downloader = make_downloader(media.segmented["dash"], 0, options=OPEN, kind=MediaKind.AUDIO)
    plan = await downloader.locate_streams()
    assert plan is not None and isinstance(plan.source, SegmentedSource)
    assert plan.kind is MediaKind.AUDIO and len(plan.source.tracks) == 1
    limit = 200 * 1024
    sent = await stream_sender(bot, plan, work, limit).send()
    calls = accepted(telegram, "sendAudio")
    assert len(calls) == len(sent) >= 3
    total = 0.0
    for part in sent:
        info = await probe(telegram.uploaded_path(part.file_id))
        assert info.video is None and info.audio is not None
        assert part.size_bytes <= limit
        total += info.duration_s or 0.0
    assert all(part.size_bytes >= MIN_FILL * limit for part in sent[:-1])
    assert total == pytest.approx(SEGMENTED_DURATION, abs=0.2)
    assert listing(work) == []


async def test_a_resume_late_in_the_source_skips_the_fragments_before_it(
    media: MediaSources, media_requests: MediaServer, work: Path
) -> None:
    source = SegmentedSource(
        (FragmentTrack(playlist_url=media.segmented["hls-ts"]),),
        MediaKind.VIDEO,
        duration_s=SEGMENTED_DURATION,
    )
    parts = []
    async with SegmentSplitter(source, work) as splitter:
        start, index = 0.0, 0
        while True:
            part = await splitter.cut(start, index, LIMIT)
            part.path.unlink()
            parts.append(part)
            if part.is_last:
                break
            start, index = part.end_s, index + 1
    media_requests.reset()
    async with SegmentSplitter(source, work) as splitter:
        again = await splitter.cut(parts[3].start_s, 3, LIMIT)
        again.path.unlink()
    assert (again.start_s, again.end_s, again.size_bytes) == (
        parts[3].start_s,
        parts[3].end_s,
        parts[3].size_bytes,
    )
    fetched = {request.path.rsplit("/", 1)[-1] for request in media_requests.requests}
    assert "seg000.ts" in fetched  # the time origin
    assert not fetched & {"seg001.ts", "seg002.ts", "seg003.ts", "seg004.ts"}, sorted(fetched)
    assert listing(work) == []
