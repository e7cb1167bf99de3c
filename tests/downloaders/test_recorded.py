"""YouTube and Instagram without the internet: recorded extractor output drives the real classes.

Only the extraction step is answered from JSON fixtures (see `recorded.py`); the limits, the
resolution listing, the format choice and the executions are the real code. Link checks use
`allow_private_urls=True` because the guard's DNS lookups would need the internet.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yt_dlp

from mediabot.domain.enums import MediaKind, Provider
from mediabot.downloaders import (
    DownloadOptions,
    LiveStreamError,
    TooLongError,
    UnavailableResolutionError,
)
from mediabot.downloaders.executions import AudioExecution, VideoExecution
from mediabot.downloaders.sites.instagram import InstagramDownloader
from mediabot.downloaders.sites.youtube import YouTubeDownloader
from tests.downloaders.recorded import load, progressive_format, recorded
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

OFFLINE = DownloadOptions(allow_private_urls=True)
FRAME = ("-frames:v", "1")


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _chosen(info: dict[str, Any], selector: str) -> list[str]:
    """The format ids yt-dlp's own selector picks from `info` (no download, no network)."""
    with yt_dlp.YoutubeDL({"format": selector, "quiet": True, "no_warnings": True}) as ydl:
        processed = ydl.process_ie_result(info, download=False)
    return [f["format_id"] for f in processed.get("requested_formats") or [processed]]


async def test_youtube_lists_heights_with_video_plus_audio_sizes() -> None:
    cls = recorded(YouTubeDownloader, load("youtube_video"))
    url = "https://youtu.be/dQw4w9WgXcQ?t=42&list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI"
    media = await cls.get_resolutions(url, OFFLINE)

    # The one video, by its canonical URL: no timestamp, no playlist.
    assert cls.extracted == ["https://www.youtube.com/watch?v=dQw4w9WgXcQ"]  # type: ignore[attr-defined]
    assert media.provider == Provider.YOUTUBE
    assert media.media_key == "youtube:dQw4w9WgXcQ"
    assert media.uploader == "Rick Astley"
    assert media.duration_s == 213
    assert media.heights == (144, 360, 720, 1080)
    sizes = {r.height: r.estimated_bytes for r in media.resolutions}
    audio = 3_450_000  # itag 140, the AAC stream the selector adds
    assert sizes[360] == 17_300_000 + audio  # avc1 itag 134, not vp9/av01
    assert sizes[720] == 39_900_000 + audio
    assert sizes[1080] == 4300 * 1000 // 8 * 213 + audio  # no filesize: bitrate x duration
    assert media.audio_estimated_bytes == audio
    assert media.has_audio and not media.is_collection and media.photo_count == 0


@pytest.mark.parametrize(
    ("height", "expected"),
    [(360, ["134", "140"]), (720, ["136", "140"]), (1080, ["137", "140"]), (144, ["160", "140"])],
)
def test_video_selector_picks_avc1_and_aac_at_the_exact_height(
    height: int, expected: list[str]
) -> None:
    assert _chosen(load("youtube_video"), VideoExecution(height).format_selector) == expected


def test_video_selector_takes_another_codec_only_when_no_avc1_exists_at_that_height() -> None:
    # 480p of the short exists only as VP9: it is taken (then re-encoded), with AAC audio.
    assert _chosen(load("youtube_short"), VideoExecution(854).format_selector) == ["244", "140"]
    assert _chosen(load("youtube_short"), VideoExecution(1280).format_selector) == ["136", "140"]


def test_audio_selector_prefers_aac() -> None:
    assert _chosen(load("youtube_video"), AudioExecution.format_selector) == ["140"]
    assert _chosen(load("instagram_reel"), AudioExecution.format_selector) == ["dash-a1"]


async def test_a_short_lists_its_portrait_heights() -> None:
    media = await recorded(YouTubeDownloader, load("youtube_short")).get_resolutions(
        "https://www.youtube.com/shorts/aqz-KE-bpKQ?feature=share", OFFLINE
    )
    assert media.media_key == "youtube:aqz-KE-bpKQ"
    assert media.heights == (640, 854, 1280, 1920)
    assert media.resolutions[0].estimated_bytes == 1_050_000 + 453_000


async def test_a_missing_height_is_refused_not_substituted(tmp_path: Path) -> None:
    cls = recorded(YouTubeDownloader, load("youtube_video"))
    with pytest.raises(UnavailableResolutionError) as caught:
        await cls("https://youtu.be/dQw4w9WgXcQ", 480, options=OFFLINE).download(tmp_path)
    assert "480p is not available" in caught.value.user_message
    assert "720p" in caught.value.user_message
    assert _names(tmp_path) == []


async def test_live_streams_are_refused_before_downloading(tmp_path: Path) -> None:
    cls = recorded(YouTubeDownloader, load("youtube_live"))
    url = "https://www.youtube.com/live/jfKfPfyJRdk"
    with pytest.raises(LiveStreamError):
        await cls.get_resolutions(url, OFFLINE)
    with pytest.raises(LiveStreamError):
        await cls(url, 720, options=OFFLINE).download(tmp_path)
    assert _names(tmp_path) == []


async def test_media_over_the_duration_limit_is_refused(tmp_path: Path) -> None:
    cls = recorded(YouTubeDownloader, load("youtube_video"))
    options = DownloadOptions(allow_private_urls=True, max_duration_s=60)
    with pytest.raises(TooLongError) as caught:
        await cls.get_resolutions("https://youtu.be/dQw4w9WgXcQ", options)
    assert "the limit is 1 min" in caught.value.user_message
    with pytest.raises(TooLongError):
        await cls("https://youtu.be/dQw4w9WgXcQ", 0, options=options).download(tmp_path)
    assert _names(tmp_path) == []


async def test_an_instagram_reel_lists_its_heights() -> None:
    media = await recorded(InstagramDownloader, load("instagram_reel")).get_resolutions(
        "https://www.instagram.com/reel/C8xYz12AbCd/?igsh=abc", OFFLINE
    )
    assert media.provider == Provider.INSTAGRAM
    assert media.media_key == "instagram:C8xYz12AbCd"
    assert media.heights == (640, 1280)
    assert media.resolutions[1].estimated_bytes == int(1800 * 125 * 14.2) + int(96 * 125 * 14.2)
    assert _chosen(load("instagram_reel"), VideoExecution(1280).format_selector) == [
        "dash-v1",
        "dash-a1",
    ]


async def test_instagram_posts_report_photos_and_collections() -> None:
    carousel = await recorded(InstagramDownloader, load("instagram_carousel")).get_resolutions(
        "https://www.instagram.com/p/C9pQr34StUv/", OFFLINE
    )
    assert carousel.is_collection
    assert carousel.photo_count == 2
    assert carousel.resolutions == ()
    assert carousel.media_key == "instagram:C9pQr34StUv"

    photo = await recorded(InstagramDownloader, load("instagram_photo")).get_resolutions(
        "https://www.instagram.com/p/C7aBc56DeFg/", OFFLINE
    )
    assert photo.photo_count == 1
    assert not photo.is_collection
    assert photo.resolutions == ()


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("img") / "p.jpg"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=64x80",
            *FRAME,
            str(path),
        ],
        check=True,
    )
    return path.read_bytes()


def _served_carousel(server: MediaServer, media: MediaSources, jpeg: bytes) -> dict[str, Any]:
    """The recorded carousel, its largest images and its video served by the media server."""
    info = load("instagram_carousel")
    for entry in info["entries"]:
        if not entry["formats"]:
            best = entry["thumbnails"][-1]
            best["url"] = server.add_route(
                "/ig/" + best["url"].rsplit("/", 1)[1],
                body=jpeg,
                headers={"Content-Type": "image/jpeg"},
            )
            for small in entry["thumbnails"][:-1]:
                small["url"] = server.url("/ig/never/" + small["url"].rsplit("/", 1)[1])
        else:
            entry["thumbnails"] = []
            entry["formats"] = [progressive_format(media.progressive_mp4)]
    return info


async def test_a_carousel_downloads_its_photos_and_videos_in_order(
    tmp_path: Path, media: MediaSources, media_requests: MediaServer, jpeg: bytes
) -> None:
    info = _served_carousel(media_requests, media, jpeg)
    cls = recorded(InstagramDownloader, info)
    result = await cls("https://www.instagram.com/p/C9pQr34StUv/", options=OFFLINE).download(
        tmp_path
    )

    assert [item.kind for item in result.items] == [
        MediaKind.PHOTO,
        MediaKind.VIDEO,
        MediaKind.PHOTO,
    ]
    assert result.kind is MediaKind.VIDEO  # mixed: not a pure photo post
    assert result.media_key == "instagram:C9pQr34StUv"
    first, video, third = result.items
    assert first.path.read_bytes() == jpeg and third.path.read_bytes() == jpeg
    assert (first.width, first.height) == (1080, 1350)
    assert (video.width, video.height) == (640, 360)
    assert _names(tmp_path) == sorted(p.path.name for p in result.items)
    assert [p.path.name[:2] for p in result.items] == ["01", "02", "03"]
    assert media_requests.request_count("/ig/never") == 0  # only the largest image is fetched


async def test_a_photo_post_is_a_photo_result(
    tmp_path: Path, media_requests: MediaServer, jpeg: bytes
) -> None:
    info = load("instagram_photo")
    info["thumbnails"] = [
        {
            "url": media_requests.add_route("/ig/single.jpg", body=jpeg),
            "width": 1080,
            "height": 1350,
        }
    ]
    cls = recorded(InstagramDownloader, info)
    result = await cls("https://www.instagram.com/p/C7aBc56DeFg/", options=OFFLINE).download(
        tmp_path
    )
    assert result.kind is MediaKind.PHOTO
    assert [item.kind for item in result.items] == [MediaKind.PHOTO]
    assert result.items[0].path.read_bytes() == jpeg
    assert result.items[0].path.parent == tmp_path
