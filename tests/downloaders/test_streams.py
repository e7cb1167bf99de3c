"""`Downloader.locate_streams`: the chosen formats as remote inputs, or None, without downloading.

Bench sources on the loopback media server (real yt-dlp, real ffmpeg), and recorded YouTube
output whose format URLs are rewritten to point at the bench's files.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from mediabot.domain.enums import MediaKind, Provider
from mediabot.downloaders import (
    DownloadOptions,
    PrivateAddressError,
    UnavailableResolutionError,
    make_downloader,
)
from mediabot.downloaders.sites.instagram import InstagramDownloader
from mediabot.downloaders.sites.youtube import YouTubeDownloader
from mediabot.media.cutters.files import Splitter
from mediabot.media.parts import SplitError
from mediabot.media.probe import probe
from mediabot.media.sources import SegmentedSource, SplitSource
from tests.downloaders.recorded import load, recorded, rewrite_urls
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

pytestmark = pytest.mark.integration

BENCH = DownloadOptions(allow_private_urls=True)
GUARDED = DownloadOptions(allow_private_urls=False)
MIB = 1024 * 1024
_YT = "https://rr1---sn-abc.googlevideo.com/videoplayback?itag={}&expire=1700000000"


def _listing(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _dash_pair(media: MediaSources) -> tuple[str, str]:
    base = media.long_dash_mpd.rsplit("/", 1)[0]
    return f"{base}/video-720p.mp4", f"{base}/audio.m4a"


def _media_requests(server: MediaServer, urls: tuple[str, ...], base_url: str) -> list[str | None]:
    paths = {url.removeprefix(base_url) for url in urls}
    return [request.range for request in server.requests if request.path in paths]


async def test_long_dash_pair_is_located_as_two_urls_without_downloading(
    media: MediaSources, media_requests: MediaServer
) -> None:
    plan = await make_downloader(media.long_dash_mpd, 720, options=BENCH).locate_streams()

    assert plan is not None
    video, audio = _dash_pair(media)
    assert plan.source.inputs == (video, audio)
    assert plan.kind is MediaKind.VIDEO and plan.source.is_stream
    assert (plan.width, plan.height) == (1280, 720)
    assert plan.estimated_bytes == sum(media.path(url).stat().st_size for url in (video, audio))
    assert plan.provider == Provider.GENERIC and plan.media_key.startswith("generic:")
    assert plan.source_url == media.long_dash_mpd
    assert plan.source.url_check is not None
    assert "User-Agent" in plan.source.headers  # what yt-dlp would send goes along
    # one byte per file, to check it seeks and learn its size; besides, one read of a
    # file's start by ffprobe, for the duration yt-dlp does not take from the manifest
    ranges = _media_requests(media_requests, (video, audio), media.base_url)
    assert sorted(ranges, key=str) == [None, "bytes=0-0", "bytes=0-0"]
    assert plan.duration_s == pytest.approx(48, abs=0.5)


async def test_progressive_file_is_one_muxed_url(media: MediaSources) -> None:
    plan = await make_downloader(media.long_mp4, 720, options=BENCH).locate_streams()

    assert plan is not None
    assert plan.source.inputs == (media.long_mp4,)
    assert plan.estimated_bytes == media.path(media.long_mp4).stat().st_size
    assert plan.duration_s == pytest.approx(48, abs=0.5)


async def test_audio_only_takes_the_aac_file(media: MediaSources) -> None:
    from_dash = await make_downloader(media.long_dash_mpd, 0, options=BENCH).locate_streams()
    assert from_dash is not None
    assert from_dash.kind is MediaKind.AUDIO
    assert from_dash.source.inputs == (_dash_pair(media)[1],)

    track = await make_downloader(media.long_audio_m4a, 0, options=BENCH).locate_streams()
    assert track is not None
    assert track.kind is MediaKind.AUDIO
    assert track.source.inputs == (media.long_audio_m4a,)


async def test_sound_only_from_a_muxed_file_is_not_streamed(
    media: MediaSources, media_requests: MediaServer
) -> None:
    downloader = make_downloader(media.long_mp4, 0, options=BENCH, kind=MediaKind.AUDIO)
    assert await downloader.locate_streams() is None  # extracted from a download instead


async def test_a_clips_sound_is_located_in_a_muxed_file(media: MediaSources) -> None:
    downloader = make_downloader(media.long_mp4, 0, options=BENCH, kind=MediaKind.AUDIO, clip=True)
    plan = await downloader.locate_streams()
    assert plan is not None  # the clip cutter takes the sound alone out of its span
    assert plan.kind is MediaKind.AUDIO
    assert plan.source.inputs == (media.long_mp4,)


@pytest.mark.parametrize(
    ("source", "tracks"),
    [("dash_mpd", 2), ("hls_master", 1)],  # segmented DASH: video + audio; HLS: muxed
)
async def test_fragmented_sources_are_located_as_segments_without_reading_one(
    media: MediaSources, media_requests: MediaServer, source: str, tracks: int
) -> None:
    plan = await make_downloader(getattr(media, source), 720, options=BENCH).locate_streams()
    assert plan is not None and isinstance(plan.source, SegmentedSource)
    assert len(plan.source.tracks) == tracks
    assert plan.source.url_check is not None  # every fragment goes through the guard
    assert plan.height == 720
    # nothing beyond the manifests: no fragment was read yet
    assert not [r for r in media_requests.requests if r.path.endswith((".m4s", ".ts"))]


async def test_a_server_that_cannot_seek_is_not_streamed(
    media: MediaSources, media_requests: MediaServer
) -> None:
    info = _youtube_on_bench(media)
    no_ranges = media_requests.add_route(
        "/no-ranges/video.mp4", 200, b"\0" * 1000, {"Content-Type": "video/mp4"}
    )
    for fmt in info["formats"]:
        if fmt["format_id"] == "136":
            fmt["url"] = no_ranges
    cls = recorded(YouTubeDownloader, info)
    assert await cls("https://youtu.be/dQw4w9WgXcQ", 720, options=BENCH).locate_streams() is None


def _youtube_on_bench(media: MediaSources) -> dict[str, Any]:
    """The recorded YouTube video with its 720p H.264 and AAC formats served by the bench."""
    video, audio = _dash_pair(media)
    info: dict[str, Any] = rewrite_urls(
        load("youtube_video"), {_YT.format(136): video, _YT.format(140): audio}
    )
    return info


async def test_recorded_youtube_streams_the_avc1_and_aac_formats_with_their_headers(
    media: MediaSources, media_server: MediaServer, tmp_path: Path
) -> None:
    info = _youtube_on_bench(media)
    cover = media_server.add_route(
        "/vi/cover.jpg", 200, b"\xff\xd8\xff\xe0fake-jpeg", {"Content-Type": "image/jpeg"}
    )
    info["thumbnail"] = cover
    cls = recorded(YouTubeDownloader, info)
    url = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42"

    plan = await cls(url, 720, options=BENCH).locate_streams(tmp_path)

    assert plan is not None
    assert plan.source.inputs == _dash_pair(media)
    assert plan.provider == Provider.YOUTUBE
    assert plan.media_key == "youtube:dQw4w9WgXcQ"
    assert plan.uploader == "Rick Astley"
    assert plan.duration_s == 213
    assert plan.source.headers["User-Agent"] == "Mozilla/5.0"
    assert plan.thumbnail_url == cover
    assert plan.thumbnail is not None and plan.thumbnail.parent == tmp_path
    assert plan.thumbnail.read_bytes() == b"\xff\xd8\xff\xe0fake-jpeg"
    media_server.clear_routes()


async def test_recorded_youtube_refusals(media: MediaSources) -> None:
    cls = recorded(YouTubeDownloader, _youtube_on_bench(media))
    url = "https://youtu.be/dQw4w9WgXcQ"
    # the exact-height rule holds here too
    with pytest.raises(UnavailableResolutionError):
        await cls(url, 480, options=BENCH).locate_streams()
    # a VP9-only height would need a re-encode: downloaded, not streamed
    short = recorded(YouTubeDownloader, copy.deepcopy(load("youtube_short")))
    assert await short(url, 854, options=BENCH).locate_streams() is None
    # a post of photos (and videos) is never streamed
    carousel = recorded(InstagramDownloader, load("instagram_carousel"))
    post = "https://www.instagram.com/p/C1a2b3c4D5e/"
    assert await carousel(post, 0, options=BENCH).locate_streams() is None


async def test_format_urls_on_private_addresses_are_refused_before_any_request(
    media: MediaSources, media_requests: MediaServer
) -> None:
    # The page is recorded (and its name is judged only when connected to): only the
    # format URLs, on loopback, meet the guard here.
    cls = recorded(YouTubeDownloader, _youtube_on_bench(media))

    with pytest.raises(PrivateAddressError):
        await cls("https://youtu.be/dQw4w9WgXcQ", 720, options=GUARDED).locate_streams()
    assert media_requests.requests == []


async def test_a_located_plan_is_cut_into_playable_parts(
    media: MediaSources, tmp_path: Path
) -> None:
    plan = await make_downloader(media.long_dash_mpd, 720, options=BENCH).locate_streams()
    assert plan is not None
    limit = 3 * MIB
    async with Splitter(plan.source, tmp_path) as splitter:
        start, index, durations = 0.0, 0, 0.0
        while True:
            part = await splitter.cut(start, index, limit)
            assert part.size_bytes <= limit
            info = await probe(part.path)
            assert info.video is not None and info.audio is not None
            durations += info.duration_s or 0
            part.path.unlink()
            if part.is_last:
                break
            start, index = part.end_s, index + 1
    assert index >= 2
    assert durations == pytest.approx(splitter.duration_s, abs=1.0)
    assert _listing(tmp_path) == []


async def test_redirects_met_while_cutting_pass_the_guard(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    """ffmpeg never follows a redirect itself: the cache does, after `url_check`."""
    target = media.long_mp4
    hop = media_requests.add_redirect("/moved/long.mp4", target)
    refused: list[str] = []

    def url_check(url: str) -> None:
        if url == target:
            refused.append(url)
            raise PrivateAddressError(detail=f"refused {url}")

    source = SplitSource((hop,), MediaKind.VIDEO, url_check=url_check)
    with pytest.raises(SplitError, match="refused"):
        async with Splitter(source, tmp_path) as splitter:
            await splitter.open()
    assert refused == [target]
    assert not [r for r in media_requests.requests if r.path == "/long/long.mp4"]
    assert _listing(tmp_path) == []
