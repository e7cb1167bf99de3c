"""`mediabot formats` and `mediabot download` as a user runs them, against the bench server.

Each run is forked from the fork server (`tests.support.forkserver`): the interpreter start
and the imports are tested in tests/downloaders/test_startup.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.forkserver import run_mediabot
from tests.support.media import PAGE_SIZE, MediaSources
from tests.support.media_server import MediaServer
from tests.support.pages import blog_video

pytestmark = pytest.mark.integration


def _mediabot(
    *args: str, tmp_path: Path, allow_private: bool, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ALLOW_PRIVATE_URLS", "BOT_TOKEN", "DATABASE_URL", "AMQP_URL")
    }
    env["DATA_DIR"] = str(tmp_path / "data")
    if allow_private:
        env["ALLOW_PRIVATE_URLS"] = "true"
    env["PYTHONUNBUFFERED"] = "1"  # the fork server's interpreter setting: it can fork this run
    env.update(settings)
    return run_mediabot(list(args), env, timeout=120)


def _streams(path: Path) -> dict[str, dict[str, object]]:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return {stream["codec_type"]: stream for stream in json.loads(output)["streams"]}


def test_formats_lists_the_dash_heights(media: MediaSources, tmp_path: Path) -> None:
    run = _mediabot("formats", media.dash_mpd, tmp_path=tmp_path, allow_private=True)
    assert run.returncode == 0, run.stderr
    heights = [line.split()[0] for line in run.stdout.splitlines() if line.split()[0].endswith("p")]
    assert heights == ["360p", "720p", "1080p"]
    assert any(line.startswith("audio") and "MB" in line for line in run.stdout.splitlines())


def test_download_720_gives_a_720p_file_with_sound(media: MediaSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = _mediabot(
        "download",
        media.dash_mpd,
        "--res",
        "720",
        "-o",
        str(out),
        tmp_path=tmp_path,
        allow_private=True,
    )
    assert run.returncode == 0, run.stderr
    (printed,) = run.stdout.split("\n")[:-1]
    path = Path(printed)
    assert path.parent == out.resolve()
    assert [p.name for p in out.iterdir()] == [path.name]
    streams = _streams(path)
    assert streams["video"]["height"] == 720
    assert "audio" in streams


def test_download_audio_gives_sound_only(media: MediaSources, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = _mediabot(
        "download", media.dash_mpd, "--audio", "-o", str(out), tmp_path=tmp_path, allow_private=True
    )
    assert run.returncode == 0, run.stderr
    streams = _streams(Path(run.stdout.strip()))
    assert "video" not in streams
    assert "audio" in streams


def test_without_allow_private_the_loopback_link_is_refused_unrequested(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    for args in (
        ("formats", media.dash_mpd),
        ("download", media.dash_mpd, "--res", "720", "-o", str(out)),
    ):
        run = _mediabot(*args, tmp_path=tmp_path, allow_private=False)
        assert run.returncode != 0
        assert "private or local network" in run.stderr
        assert run.stdout == ""
    assert media_requests.request_count() == 0
    assert not out.exists() or list(out.iterdir()) == []


def test_a_missing_height_is_a_clear_refusal(media: MediaSources, tmp_path: Path) -> None:
    run = _mediabot(
        "download", media.hls_master, "--res", "1080", "-o", str(tmp_path / "o"),
        tmp_path=tmp_path, allow_private=True,
    )  # fmt: skip
    assert run.returncode == 2
    assert "1080p is not available" in run.stderr


@pytest.mark.parametrize("source", ["octet-stream", "hls-media-playlist"])
def test_formats_lists_what_ffprobe_finds_in_generic_sources(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path, source: str
) -> None:
    """yt-dlp knows neither height nor codecs of these; the list still shows them."""
    if source == "octet-stream":
        file = media.path(media.progressive_mp4)
        url = media_requests.add_file("/bucket/cli-7f3a", file, "application/octet-stream")
        expected = "360p"
    else:
        url = f"{media.base_url}/hls/v1/index.m3u8"
        expected = "720p"
    run = _mediabot("formats", url, tmp_path=tmp_path, allow_private=True)
    assert run.returncode == 0, run.stderr
    lines = [line.split() for line in run.stdout.splitlines() if line.strip()]
    assert [words[0] for words in lines[1:]] == [expected, "audio"]
    assert all("MB" in words for words in lines[1:])


def test_download_refuses_media_longer_than_the_limit_once_downloaded(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    """A page's MPEG-TS states no length at the lookup: the downloaded file tells it."""
    url = blog_video(media_requests, "/cli/hidden.html", media.page_long["ts"])
    out = tmp_path / "out"
    run = _mediabot(
        "download",
        url,
        "--res",
        str(PAGE_SIZE[1]),
        "-o",
        str(out),
        tmp_path=tmp_path,
        allow_private=True,
        MAX_DURATION_MIN="1",
    )
    assert run.returncode == 2
    assert "This media is 2 min long; the limit is 1 min." in run.stderr
    assert list(out.iterdir()) == []
