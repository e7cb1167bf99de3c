"""The file cutter against real ffmpeg: parts under the limit, playable, complete."""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import pytest

from mediabot.domain.enums import MediaKind
from mediabot.media.cutters import files as files_module
from mediabot.media.cutters.file_inputs import FileInput
from mediabot.media.cutters.files import Splitter, cut_command
from mediabot.media.parts import CutPart, SplitError
from mediabot.media.plan import CutUnit
from mediabot.media.probe import MediaInfo, probe
from mediabot.media.sources import SplitSource
from tests.support.disk import listing
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

MIB = 1024 * 1024


def _packets(path: Path | str, selector: str) -> int:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            selector,
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(json.loads(out)["streams"][0]["nb_read_packets"])


async def _split_all(splitter: Splitter, limit: int) -> list[CutPart]:
    parts: list[CutPart] = []
    start, index = 0.0, 0
    while True:
        part = await splitter.cut(start, index, limit)
        parts.append(part)
        if part.is_last:
            return parts
        start, index = part.end_s, index + 1


async def _check_parts(
    parts: list[CutPart], limit: int, *, source_duration: float, kind: MediaKind
) -> None:
    assert len(parts) >= 2
    for previous, following in itertools.pairwise(parts):
        assert previous.end_s == following.start_s
    durations = 0.0
    for part in parts:
        assert part.size_bytes == part.path.stat().st_size <= limit
        info = await probe(part.path)
        assert info.is_playable
        assert info.audio is not None
        assert (info.video is not None) is (kind is MediaKind.VIDEO)
        assert info.duration_s is not None
        durations += info.duration_s
    assert abs(durations - source_duration) <= 1.0


def _input(source: str, *maps: str) -> FileInput:
    info = MediaInfo(source, "mov,mp4,m4a,3gp,3g2,mj2", 60.0, None, None, ())
    return FileInput(source, info, (0,), maps, ("-recv_buffer_size", "65536"))


def test_a_cut_seeks_past_its_keyframe_and_stops_before_the_next_one_is_decoded() -> None:
    pair = [_input("v.mp4", "-map", "0:0"), _input("a.m4a", "-map", "1:0")]
    first = CutUnit(start_s=10.0, start_dts_s=9.9, size_bytes=1, packets=1)
    after = CutUnit(start_s=14.0, start_dts_s=13.9, size_bytes=1, packets=1)
    args = cut_command(pair, first, after, Path("p.mp4"), MediaKind.VIDEO)
    seek = ["-ss", "10.001000", "-recv_buffer_size", "65536", "-i"]
    assert args[5:17] == [*seek, "v.mp4", *seek, "a.m4a"]
    # the length runs from the seek to just before the next keyframe's decode time
    assert args[17:19] == ["-t", f"{13.9 - 10.001 - 0.0005:.6f}"]
    assert args[19:23] == ["-map", "0:0", "-map", "1:0"]
    assert args[-3:] == ["-movflags", "+faststart", "p.mp4"]


def test_a_cut_from_the_start_to_the_end_neither_seeks_nor_stops() -> None:
    first = CutUnit(start_s=0.0, start_dts_s=-0.04, size_bytes=1, packets=1)
    args = cut_command(
        [_input("a.m4a", "-map", "0:0")], first, None, Path("p.m4a"), MediaKind.AUDIO
    )
    assert "-ss" not in args and "-t" not in args
    assert "-movflags" not in args and args[-1] == "p.m4a"


async def test_local_video_is_cut_into_playable_parts_under_the_limit(
    media: MediaSources, tmp_path: Path
) -> None:
    source = media.path(media.long_mp4)
    limit = 2 * MIB
    splitter = Splitter(SplitSource((source,), MediaKind.VIDEO), tmp_path)
    parts = await _split_all(splitter, limit)

    source_info = await probe(source)
    assert source_info.duration_s is not None
    await _check_parts(parts, limit, source_duration=source_info.duration_s, kind=MediaKind.VIDEO)
    # cut exactly at keyframes: no frame lost, none repeated
    assert sum(_packets(part.path, "v") for part in parts) == _packets(source, "v")


async def test_remote_dash_pair_is_cut_without_downloading_it_first(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    base = media.long_mp4.rsplit("/", 1)[0]
    video_url, audio_url = f"{base}/dash/video-720p.mp4", f"{base}/dash/audio.m4a"
    limit = 2 * MIB
    work = tmp_path / "work"
    work.mkdir()
    headers = {"X-Token": "secret"}
    async with Splitter(
        SplitSource((video_url, audio_url), MediaKind.VIDEO, headers=headers), work
    ) as splitter:
        parts = await _split_all(splitter, limit)
        fetched = splitter.fetched_bytes
    # the cache folder is gone with the splitter: only the parts are left
    assert sorted(path.name for path in work.iterdir()) == sorted(p.path.name for p in parts)

    assert SplitSource((video_url, audio_url), MediaKind.VIDEO).is_stream
    assert splitter.duration_s > 40
    # planning and cutting a window read it from the origin about once, not twice
    source_bytes = sum(media.path(url).stat().st_size for url in (video_url, audio_url))
    served = sum(
        request.bytes_sent
        for request in media_requests.requests
        if request.path.startswith("/long/dash/")
    )
    assert served >= fetched >= source_bytes
    assert fetched <= 1.6 * source_bytes
    # only mediabot's cache talks to the origin, with the source's headers, never ffmpeg
    assert all(
        request.headers.get("X-Token") == "secret"
        for request in media_requests.requests
        if request.path.startswith("/long/dash/")
    )
    await _check_parts(parts, limit, source_duration=splitter.duration_s, kind=MediaKind.VIDEO)
    video_file = media.path(video_url)
    assert sum(_packets(part.path, "v") for part in parts) == _packets(video_file, "v")
    # later parts were reached by seeking (range requests), not by reading from the start
    video_path = video_url.removeprefix(media.base_url)
    seeks = [
        request
        for request in media_requests.requests
        if request.path == video_path and request.range and not request.range.startswith("bytes=0-")
    ]
    assert seeks


async def test_audio_is_cut_into_m4a_parts(media: MediaSources, tmp_path: Path) -> None:
    source = media.path(media.long_audio_m4a)
    limit = 512 * 1024
    splitter = Splitter(SplitSource((source,), MediaKind.AUDIO), tmp_path)
    parts = await _split_all(splitter, limit)

    assert all(part.path.suffix == ".m4a" for part in parts)
    await _check_parts(parts, limit, source_duration=splitter.duration_s, kind=MediaKind.AUDIO)


async def test_a_part_that_comes_out_too_large_is_cut_again(
    media: MediaSources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a plan that overfills on purpose: the first cut is over the limit and must be redone
    monkeypatch.setattr(files_module, "HEADROOM", 1.3)
    limit = 2 * MIB
    splitter = Splitter(SplitSource((media.path(media.long_mp4),), MediaKind.VIDEO), tmp_path)
    part = await splitter.cut(0.0, 0, limit)
    assert part.size_bytes <= limit
    assert listing(tmp_path) == [part.path.name]


async def test_a_keyframe_interval_over_the_limit_cannot_be_cut(
    media: MediaSources, tmp_path: Path
) -> None:
    splitter = Splitter(SplitSource((media.path(media.long_mp4),), MediaKind.VIDEO), tmp_path)
    with pytest.raises(SplitError, match="without re-encoding"):
        await splitter.cut(0.0, 0, 64 * 1024)
    assert listing(tmp_path) == []


async def test_an_input_that_is_not_media_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(SplitError):
        await Splitter(SplitSource((junk,), MediaKind.VIDEO), tmp_path).open()
