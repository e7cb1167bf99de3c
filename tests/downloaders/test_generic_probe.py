"""Generic sources yt-dlp cannot describe: ffprobe tells their real streams, through the guard.

A direct MP4 served as `application/octet-stream` under a path without extension (as S3 and
file hosts serve it) and an HLS media playlist without a master playlist: yt-dlp knows
neither height nor codecs of either. The offer must still list the real height, the sound
and a size estimate, and the chosen height must download as a playable MP4 with sound.
Every test runs with the guard on (127.0.0.1/32 stands for a public host).
"""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import (
    DownloadOptions,
    PrivateAddressError,
    TooLongError,
    get_resolutions,
    make_downloader,
)
from mediabot.downloaders.errors import NotMediaError, StalledError
from mediabot.media.probe import probe
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

ALLOWED = ("127.0.0.1/32",)
GUARDED = DownloadOptions(allow_private_urls=False, allowed_private_networks=ALLOWED)
OCTET_STREAM = "application/octet-stream"


def _octet_stream(media: MediaSources, server: MediaServer, name: str) -> str:
    return server.add_file(f"/bucket/{name}", media.path(media.progressive_mp4), OCTET_STREAM)


def _segments(media: MediaSources, variant: str) -> list[str]:
    playlist = (media.dir / "hls" / variant / "index.m3u8").read_text().splitlines()
    return [f"{media.base_url}/hls/{variant}/{line}" for line in playlist if line.endswith(".ts")]


def _media_playlist(segments: list[str]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0"]
    lines += ["#EXT-X-PLAYLIST-TYPE:VOD"]
    for segment in segments:
        lines += ["#EXTINF:2.000000,", segment]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


async def test_an_octet_stream_mp4_offers_its_height_sound_and_size(
    media: MediaSources, media_requests: MediaServer
) -> None:
    url = _octet_stream(media, media_requests, "offer-a1b2c3")
    offer = await get_resolutions(url, GUARDED)
    size = media.path(media.progressive_mp4).stat().st_size
    assert [(r.height, r.estimated_bytes) for r in offer.resolutions] == [(360, size)]
    assert offer.has_audio
    assert offer.audio_estimated_bytes is not None
    assert 0 < offer.audio_estimated_bytes < size / 3
    assert offer.duration_s == pytest.approx(6, abs=0.5)


async def test_an_octet_stream_mp4_downloads_at_its_height_with_sound(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    url = _octet_stream(media, media_requests, "download-d4e5f6")
    result = await make_downloader(url, 360, options=GUARDED).download(tmp_path)
    (item,) = result.items
    assert item.path.suffix == ".mp4"
    assert item.height == 360
    facts = await probe(item.path)
    assert facts.video is not None and facts.video.codec_name == "h264"
    assert facts.video.height == 360
    assert facts.audio is not None and facts.audio.codec_name == "aac"
    assert facts.is_playable


async def test_an_octet_stream_that_is_not_media_is_still_refused(
    media_requests: MediaServer,
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a video " * 200)
    url = media_requests.add_route(
        "/bucket/archive-0001", body=buffer.getvalue(), headers={"Content-Type": OCTET_STREAM}
    )
    with pytest.raises(NotMediaError):
        await get_resolutions(url, GUARDED)


async def test_an_octet_stream_mp4_over_the_duration_limit_is_refused(
    media: MediaSources, media_requests: MediaServer
) -> None:
    url = _octet_stream(media, media_requests, "long-0002")
    limited = DownloadOptions(
        allow_private_urls=False, allowed_private_networks=ALLOWED, max_duration_s=3
    )
    with pytest.raises(TooLongError):
        await get_resolutions(url, limited)


async def test_an_hls_media_playlist_offers_its_height_sound_and_size(
    media: MediaSources, media_requests: MediaServer
) -> None:
    url = f"{media.base_url}/hls/v1/index.m3u8"
    offer = await get_resolutions(url, GUARDED)
    (resolution,) = offer.resolutions
    assert resolution.height == 720
    assert offer.has_audio
    segments = sum(path.stat().st_size for path in (media.dir / "hls" / "v1").glob("*.ts"))
    assert resolution.estimated_bytes is not None
    assert 0.7 * segments <= resolution.estimated_bytes <= 1.3 * segments
    assert offer.audio_estimated_bytes is not None
    assert offer.audio_estimated_bytes < resolution.estimated_bytes / 4


async def test_an_hls_media_playlist_downloads_video_with_sound(
    media: MediaSources, tmp_path: Path
) -> None:
    url = f"{media.base_url}/hls/v0/index.m3u8"
    offer = await get_resolutions(url, GUARDED)
    assert [r.height for r in offer.resolutions] == [360]
    result = await make_downloader(url, 360, options=GUARDED).download(tmp_path)
    (item,) = result.items
    assert result.kind is MediaKind.VIDEO
    facts = await probe(item.path)
    assert facts.video is not None and facts.video.height == 360
    assert facts.audio is not None and facts.audio.codec_name == "aac"
    assert facts.duration_s == pytest.approx(6, abs=0.5)


async def test_probing_a_playlist_never_reaches_a_private_segment(
    media: MediaSources, media_requests: MediaServer, trap: MediaServer
) -> None:
    segments = [s.replace("127.0.0.1", "127.0.0.2") for s in _segments(media, "v1")]
    url = media_requests.add_route(
        "/cases/private-segments.m3u8",
        body=_media_playlist(segments),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    with pytest.raises(PrivateAddressError):
        await get_resolutions(url, GUARDED)
    assert trap.requests == []
    assert media_requests.request_count("/cases/private-segments.m3u8") >= 1


@pytest.mark.parametrize("limit", ["deadline", "stall"])
async def test_probing_a_playlist_of_a_dripping_server_ends_in_time(
    media_requests: MediaServer, limit: str
) -> None:
    segment = media_requests.add_drip(f"/drip/{limit}/seg000.ts", interval_s=0.5)
    url = media_requests.add_route(
        f"/drip/{limit}/index.m3u8",
        body=_media_playlist([segment]),
        headers={"Content-Type": "application/vnd.apple.mpegurl"},
    )
    if limit == "deadline":
        options = DownloadOptions(
            allow_private_urls=False,
            allowed_private_networks=ALLOWED,
            lookup_timeout_s=2.0,
            stall_timeout_s=60,
            min_transfer_kbps=0,
        )
    else:
        options = DownloadOptions(
            allow_private_urls=False,
            allowed_private_networks=ALLOWED,
            stall_timeout_s=60,
            min_transfer_kbps=4,
            min_transfer_window_s=1.5,
        )
    started = time.monotonic()
    with pytest.raises(StalledError):
        await get_resolutions(url, options)
    assert time.monotonic() - started < 6.0
    assert media_requests.request_count(f"/drip/{limit}/seg000.ts") >= 1
