"""The media factory and the loopback media server: what yt-dlp sees, what ranges return."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from typing import Any

import pytest
import yt_dlp

from tests.support.media import DASH_HEIGHTS, HLS_HEIGHTS, LONG_DURATION, MediaSources
from tests.support.media_server import MediaServer

pytestmark = pytest.mark.integration


def _formats(url: str) -> list[dict[str, Any]]:
    with yt_dlp.YoutubeDL({"quiet": True, "no_warnings": True}) as ydl:
        info = ydl.extract_info(url, download=False)
    assert info is not None
    return list(info["formats"])


def _fetch(
    url: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    assert url.startswith("http://127.0.0.1:")
    request = urllib.request.Request(url, headers=headers or {}, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_dash_manifest_lists_three_heights_and_audio(media: MediaSources) -> None:
    formats = _formats(media.dash_mpd)

    heights = sorted(f["height"] for f in formats if f.get("vcodec") not in (None, "none"))
    audio = [f for f in formats if f.get("vcodec") == "none" and f.get("acodec") != "none"]
    assert heights == list(DASH_HEIGHTS)
    assert {(f["width"], f["height"]) for f in formats if f.get("height")} == {
        (640, 360),
        (1280, 720),
        (1920, 1080),
    }
    assert len(audio) == 1


def test_hls_master_lists_two_variants(media: MediaSources) -> None:
    formats = _formats(media.hls_master)

    assert sorted(f["height"] for f in formats) == list(HLS_HEIGHTS)


def test_long_dash_is_one_video_and_one_audio_file(media: MediaSources) -> None:
    formats = _formats(media.long_dash_mpd)

    video = [f for f in formats if f.get("vcodec") != "none"]
    audio = [f for f in formats if f.get("vcodec") == "none"]
    assert [f["height"] for f in video] == [720]
    assert [media.path(f["url"]).name for f in video + audio] == ["video-720p.mp4", "audio.m4a"]


def test_long_sources_have_the_promised_shape(media: MediaSources) -> None:
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            str(media.path(media.long_mp4)),
        ],
        capture_output=True,
        check=True,
        text=True,
    )
    facts = json.loads(probe.stdout)
    video = next(s for s in facts["streams"] if s["codec_type"] == "video")

    assert (video["width"], video["height"]) == (1280, 720)
    assert float(facts["format"]["duration"]) == pytest.approx(LONG_DURATION, abs=0.2)
    assert 6_000_000 <= media.path(media.long_mp4).stat().st_size <= 10_000_000
    assert media.path(media.long_audio_m4a).stat().st_size >= 1_500_000


def test_range_requests_return_the_right_bytes(media: MediaSources) -> None:
    file = media.path(media.progressive_mp4).read_bytes()

    status, headers, body = _fetch(media.progressive_mp4, {"Range": "bytes=100-199"})
    assert (status, body) == (206, file[100:200])
    assert headers["Content-Range"] == f"bytes 100-199/{len(file)}"
    assert headers["Content-Type"] == "video/mp4"

    status, _, body = _fetch(media.progressive_mp4, {"Range": "bytes=-10"})
    assert (status, body) == (206, file[-10:])

    status, headers, _ = _fetch(media.progressive_mp4, {"Range": f"bytes={len(file)}-"})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(file)}"

    status, headers, body = _fetch(media.progressive_mp4, method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(file)))


def test_content_types(media: MediaSources) -> None:
    expected = {
        media.dash_mpd: "application/dash+xml",
        media.hls_master: "application/vnd.apple.mpegurl",
        media.audio_m4a: "audio/mp4",
    }
    for url, content_type in expected.items():
        assert _fetch(url, method="HEAD")[1]["Content-Type"] == content_type


def test_request_log_counts_and_resets(media: MediaSources, media_requests: MediaServer) -> None:
    assert media_requests.request_count() == 0

    _fetch(media.audio_m4a, {"Range": "bytes=0-9"})
    _fetch(media.dash_mpd)

    assert media_requests.request_count() == 2
    assert media_requests.request_count("audio/") == 1
    [first] = [r for r in media_requests.requests if r.path == "/audio/audio.m4a"]
    assert (first.method, first.range, first.status, first.bytes_sent) == (
        "GET",
        "bytes=0-9",
        206,
        10,
    )
    media_requests.reset()
    assert media_requests.requests == []


def test_synthetic_routes(media_requests: MediaServer, media: MediaSources) -> None:
    missing = media_requests.add_route("/gone", 404, "no such video")
    moved = media_requests.add_redirect("/moved", media.audio_m4a)

    assert _fetch(missing)[0] == 404
    status, _, body = _fetch(moved)  # urllib follows the redirect
    assert (status, body) == (200, media.path(media.audio_m4a).read_bytes())
    assert [r.path for r in media_requests.requests] == ["/gone", "/moved", "/audio/audio.m4a"]
    assert _fetch(media_requests.url("../../etc/passwd"))[0] == 404
