"""A 20 s clip out of a 10-minute source, for every layout: only the clip's bytes are read.

The source (`MediaSources.clip`) has keyframes at 0.5, 1.5, 2.5 … s, so a clip asked from
a whole second starts half a second early, at the keyframe before it. Bytes are counted
where they are served (the loopback media server), and every request goes through the
guard proxy (`StreamGuard`): the guard lets 127.0.0.1 through and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
import yt_dlp

from mediabot.domain.clips import Clip, ClipProblem, ClipRangeError
from mediabot.domain.enums import MediaKind
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.streams import StreamGuard
from mediabot.media.clips.cutter import ClipFile, cut_clip
from mediabot.media.fragments.playlist import Fragment, FragmentTrack
from mediabot.media.parts import SplitError
from mediabot.media.sources import SegmentedSource, SplitSource
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

CLIP = Clip(301, 321)
KEYFRAME_BEFORE = 300.5
MOST_BYTES = 1.3
"""At most this many bytes are read from the origin per byte of the clip."""


def _guard() -> StreamGuard:
    options = DownloadOptions(allow_private_urls=False, allowed_private_networks=("127.0.0.1/32",))
    return StreamGuard.for_options(options)


def _dash_tracks(manifest: str) -> tuple[FragmentTrack, ...]:
    """The video and audio tracks of a segmented DASH manifest, as yt-dlp lists them."""
    with yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True}) as ydl:
        info = ydl.extract_info(manifest, download=False)
    formats = sorted(info["formats"], key=lambda fmt: fmt.get("vcodec") == "none")
    tracks = []
    for fmt in formats:
        base = fmt.get("fragment_base_url") or fmt["url"]
        init, *rest = (
            Fragment(urljoin(base, item["path"]), item.get("duration")) for item in fmt["fragments"]
        )
        tracks.append(FragmentTrack(init=init, fragments=tuple(rest)))
    return tuple(tracks)


async def _source(layout: str, media: MediaSources) -> SplitSource | SegmentedSource:
    if layout == "hls":
        track = FragmentTrack(playlist_url=media.clip["hls"])
        return SegmentedSource((track,), MediaKind.VIDEO, url_check=_guard())
    if layout == "dash":
        tracks = await asyncio.to_thread(_dash_tracks, media.clip["dash"])
        return SegmentedSource(tracks, MediaKind.VIDEO, url_check=_guard())
    if layout == "sidx":
        inputs: tuple[str, ...] = (media.clip["sidx-video"], media.clip["sidx-audio"])
        return SplitSource(inputs, MediaKind.VIDEO, url_check=_guard())
    return SplitSource((media.clip[layout],), MediaKind.VIDEO, url_check=_guard())


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _duration(path: Path) -> float:
    return float(_ffprobe(path)["format"]["duration"])  # type: ignore[index]


def _ffprobe(path: Path) -> dict[str, object]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        check=True,
    )
    return dict(json.loads(result.stdout))


def _frame_hashes(path: Path, start_s: float, span_s: float) -> list[tuple[float, str]]:
    """(time, md5) of each decoded picture of `path` from `start_s` for `span_s`."""
    result = subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-ss", f"{start_s}", "-i", str(path), "-t", f"{span_s}"),
            *("-map", "0:v:0", "-f", "framemd5", "-"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    base = 1 / 10  # the source runs at 10 frames a second: `#tb 0: 1/10`
    frames = []
    for line in result.stdout.splitlines():
        if line.startswith("#tb"):
            numerator, denominator = line.split(":")[1].strip().split("/")
            base = int(numerator) / int(denominator)
        elif line and not line.startswith("#"):
            fields = [field.strip() for field in line.split(",")]
            frames.append((start_s + int(fields[2]) * base, fields[5]))
    return frames


def _first_frame_time(clip: Path, source: Path, asked_s: float = CLIP.start_s) -> float:
    """The source time of the clip's first picture, found by comparing decoded pictures
    with the source's in the 2.5 s up to half a second after `asked_s`."""
    (_, first), *_ = _frame_hashes(clip, 0.0, 1.0)
    matches = [time for time, md5 in _frame_hashes(source, asked_s - 2.0, 2.5) if md5 == first]
    assert matches, "the clip's first picture is none of the source's near the asked start"
    return matches[0]


@pytest.mark.parametrize("layout", ["dash", "hls", "mp4", "moov-last", "sidx"])
async def test_a_clip_reads_only_its_own_bytes_and_starts_at_the_keyframe_before(
    layout: str, media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    source = await _source(layout, media)
    media_requests.reset()  # what a lookup read is not the clip's

    clip = await cut_clip(source, CLIP, tmp_path)

    served = sum(request.bytes_sent for request in media_requests.requests)
    ratio = served / clip.size_bytes
    print(f"{layout}: clip {clip.size_bytes} bytes, served {served} bytes, ratio {ratio:.3f}")
    assert ratio <= MOST_BYTES
    assert clip.fetched_bytes == served
    assert clip.path == tmp_path / "clip.mp4" and _files(tmp_path) == [clip.path]
    facts = _ffprobe(clip.path)
    streams = facts["streams"]
    assert isinstance(streams, list)
    assert sorted(stream["codec_name"] for stream in streams) == ["aac", "h264"]
    # from the keyframe at 300.5 to 321; a copy ends by decode time, so with B-frames a
    # picture or two shown just after 321 may come along
    assert 20.4 <= _duration(clip.path) <= 21.0
    begins = _first_frame_time(clip.path, media.path(media.clip["mp4"]))
    assert begins == pytest.approx(KEYFRAME_BEFORE, abs=0.01)
    assert clip.start_s == pytest.approx(KEYFRAME_BEFORE, abs=0.05)
    assert clip.end_s == CLIP.end_s
    with clip.path.open("rb") as output:  # the index first: it plays while it downloads
        assert b"moov" in output.read(4096)


@pytest.mark.parametrize("layout", ["dash", "hls", "mp4", "sidx"])
async def test_a_clip_to_the_end(
    layout: str, media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    source = await _source(layout, media)
    tail = await cut_clip(source, Clip(590), tmp_path)
    assert tail.end_s is None
    assert _duration(tail.path) == pytest.approx(10.5, abs=0.3)  # from the keyframe at 589.5


@pytest.mark.parametrize("layout", ["dash", "hls", "mp4", "sidx"])
async def test_a_sound_clip_reads_no_picture_of_a_pair_and_starts_on_time(
    layout: str, media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    video = await _source(layout, media)
    source = (
        SegmentedSource(video.tracks, MediaKind.AUDIO, url_check=_guard())
        if isinstance(video, SegmentedSource)
        else SplitSource(video.inputs, MediaKind.AUDIO, url_check=_guard())
    )
    media_requests.reset()
    sound = await cut_clip(source, Clip(100, 110), tmp_path)
    assert sound.path.suffix == ".m4a" and sound.start_s == 100.0
    facts = _ffprobe(sound.path)
    assert [stream["codec_type"] for stream in facts["streams"]] == ["audio"]  # type: ignore[union-attr]
    assert _duration(sound.path) == pytest.approx(10.0, abs=0.1)
    if layout in ("dash", "sidx"):  # a pair: the video's bytes are never asked for
        paths = {request.path for request in media_requests.requests}
        assert not any("stream0" in path or path.endswith("video.mp4") for path in paths)


async def test_a_server_that_ignores_ranges_is_refused_and_leaves_nothing(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    whole = media.path(media.clip["mp4"]).read_bytes()[: 256 * 1024]
    url = media_requests.add_route(
        "/no-ranges.mp4", body=whole, headers={"Content-Type": "video/mp4"}
    )
    with pytest.raises(SplitError, match="range"):
        await cut_clip(SplitSource((url,), MediaKind.VIDEO, url_check=_guard()), CLIP, tmp_path)
    assert _files(tmp_path) == []


async def test_a_fragment_that_cannot_be_read_fails_the_clip_and_leaves_nothing(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    playlist = media.path(media.clip["hls"])
    base = media.clip["hls"].rsplit("/", 1)[0]
    lines = [
        f"{base}/missing.ts"
        if line == "seg151.ts"
        else f"{base}/{line}"
        if line.endswith(".ts")
        else line
        for line in playlist.read_text().splitlines()
    ]
    url = media_requests.add_route(
        "/broken/index.m3u8",
        body="\n".join(lines),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    source = SegmentedSource(
        (FragmentTrack(playlist_url=url),), MediaKind.VIDEO, url_check=_guard()
    )
    with pytest.raises(SplitError, match="404"):
        await cut_clip(source, CLIP, tmp_path)
    assert _files(tmp_path) == []


async def test_a_clip_past_the_end_is_refused_before_any_media_is_read(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    source = await _source("hls", media)
    with pytest.raises(ClipRangeError) as refused:
        await cut_clip(source, Clip(600, 620), tmp_path)
    assert refused.value.problem is ClipProblem.PAST_END
    # A read-ahead cancelled at the end of the test before may still land first.
    paths = [request.path for request in media_requests.requests]
    assert paths[paths.index("/clip/hls/index.m3u8") :] == ["/clip/hls/index.m3u8"]
    assert _files(tmp_path) == []


async def test_a_clip_of_a_downloaded_file_is_cut_from_the_file(
    media: MediaSources, tmp_path: Path
) -> None:
    source = SplitSource((media.path(media.clip["mp4"]),), MediaKind.VIDEO)
    clip: ClipFile = await cut_clip(source, CLIP, tmp_path)
    assert clip.fetched_bytes == 0
    assert clip.start_s == pytest.approx(KEYFRAME_BEFORE, abs=0.05)
    assert media.path(media.clip["mp4"]).exists()
    with pytest.raises(ClipRangeError) as refused:
        await cut_clip(source, Clip(600, 620), tmp_path, stem="late")
    assert refused.value.problem is ClipProblem.PAST_END and refused.value.duration_s == 600.0


async def test_a_clip_of_hls_in_fragmented_mp4_starts_with_its_init(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    track = FragmentTrack(playlist_url=media.segmented["hls-fmp4"])
    source = SegmentedSource((track,), MediaKind.VIDEO, url_check=_guard())
    clip = await cut_clip(source, Clip(10, 15), tmp_path)
    assert clip.start_s == pytest.approx(10.0, abs=0.05)  # a keyframe every half second
    assert 4.9 <= _duration(clip.path) <= 5.3
    (_, first), *_ = _frame_hashes(clip.path, 0.0, 1.0)
    original = media.path(media.segmented["hls-fmp4"]).parent.parent / "source.mp4"
    assert (10.0, first) in [(round(t, 3), md5) for t, md5 in _frame_hashes(original, 9.5, 1.0)]
    fetched = {request.path.rsplit("/", 1)[-1] for request in media_requests.requests}
    assert "init.mp4" in fetched and "seg000.m4s" not in fetched


async def test_a_clip_at_a_private_address_is_refused_before_any_request(
    media: MediaSources, trap: MediaServer, tmp_path: Path
) -> None:
    url = media.clip["mp4"].replace("127.0.0.1", "127.0.0.2")
    with pytest.raises(SplitError, match="refused"):
        await cut_clip(SplitSource((url,), MediaKind.VIDEO, url_check=_guard()), CLIP, tmp_path)
    assert trap.requests == []
    assert _files(tmp_path) == []


async def test_a_clip_of_a_pair_of_plain_mp4s_reads_each_by_its_index(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    """DASH formats served as whole files without a `sidx`: a video-only and an audio-only
    MP4 (48 s of 720p, a keyframe every 2 s)."""
    folder = media.long_dash_mpd.rsplit("/", 1)[0]
    inputs = (f"{folder}/video-720p.mp4", f"{folder}/audio.m4a")
    source = SplitSource(inputs, MediaKind.VIDEO, url_check=_guard())
    clip = await cut_clip(source, Clip(21, 31), tmp_path)
    served = sum(request.bytes_sent for request in media_requests.requests)
    assert served / clip.size_bytes <= MOST_BYTES
    assert clip.start_s == pytest.approx(20.0, abs=0.05)
    assert _first_frame_time(clip.path, media.path(media.long_mp4), 21.0) == pytest.approx(
        20.0, abs=0.01
    )
    assert sorted(stream["codec_type"] for stream in _ffprobe(clip.path)["streams"]) == [  # type: ignore[union-attr]
        "audio",
        "video",
    ]
    assert 10.9 <= _duration(clip.path) <= 11.3
