"""The downloaders on the bench's DASH, HLS and progressive sources, real yt-dlp and ffmpeg."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from mediabot.domain.enums import DownloadPhase, MediaKind, Provider
from mediabot.domain.media import DownloadProgress
from mediabot.downloaders import (
    DownloadOptions,
    PrivateAddressError,
    UnavailableResolutionError,
    get_resolutions,
    make_downloader,
)
from mediabot.downloaders.errors import DownloadError
from mediabot.downloaders.guarded import GuardedYoutubeDL, GuardRefusalError
from mediabot.net.addresses import GuardPolicy
from mediabot.net.proxy import GuardProxy
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

pytestmark = pytest.mark.integration

BENCH = DownloadOptions(allow_private_urls=True)


def _streams(path: Path) -> dict[str, dict[str, object]]:
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    streams: dict[str, dict[str, object]] = {}
    for stream in json.loads(output)["streams"]:
        streams.setdefault(stream["codec_type"], stream)
    return streams


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


async def test_listing_of_each_source(media: MediaSources) -> None:
    dash = await get_resolutions(media.dash_mpd, BENCH)
    assert dash.heights == (360, 720, 1080)
    assert dash.provider == Provider.GENERIC
    assert dash.media_key.startswith("generic:")
    assert all(r.estimated_bytes and r.estimated_bytes > 0 for r in dash.resolutions)
    assert [r.estimated_bytes for r in dash.resolutions] == sorted(
        r.estimated_bytes or 0 for r in dash.resolutions
    )
    assert dash.has_audio and dash.audio_estimated_bytes

    assert (await get_resolutions(media.hls_master, BENCH)).heights == (360, 720)

    progressive = await get_resolutions(media.progressive_mp4, BENCH)
    assert progressive.heights == (360,)
    assert (
        progressive.resolutions[0].estimated_bytes
        == media.path(media.progressive_mp4).stat().st_size
    )
    assert progressive.duration_s is not None and 5 <= progressive.duration_s <= 7

    audio = await get_resolutions(media.audio_m4a, BENCH)
    assert audio.heights == ()
    assert audio.has_audio


@pytest.mark.parametrize(
    ("source", "height"),
    [
        ("dash_mpd", 360),
        ("dash_mpd", 720),
        ("dash_mpd", 1080),
        ("hls_master", 360),
        ("hls_master", 720),
        ("progressive_mp4", 360),
    ],
)
async def test_each_resolution_has_exactly_that_height_and_sound(
    media: MediaSources, tmp_path: Path, source: str, height: int
) -> None:
    reports: list[DownloadProgress] = []
    result = await make_downloader(getattr(media, source), height, options=BENCH).download(
        tmp_path, progress=reports.append
    )
    assert result.kind is MediaKind.VIDEO
    (item,) = result.items
    assert item.path.parent == tmp_path and item.path.suffix == ".mp4"
    assert _names(tmp_path) == [item.path.name]  # no work folder or leftovers
    streams = _streams(item.path)
    assert streams["video"]["height"] == height == item.height == result.height
    assert streams["video"]["codec_name"] == "h264"
    assert streams["audio"]["codec_name"] == "aac"
    assert item.size_bytes == item.path.stat().st_size
    phases = [report.phase for report in reports]
    assert phases[0] is DownloadPhase.PROBING and phases[-1] is DownloadPhase.FINISHED
    assert DownloadPhase.DOWNLOADING in phases


@pytest.mark.parametrize("source", ["dash_mpd", "hls_master", "progressive_mp4", "audio_m4a"])
async def test_audio_only_has_no_video(media: MediaSources, tmp_path: Path, source: str) -> None:
    result = await make_downloader(getattr(media, source), 0, options=BENCH).download(tmp_path)
    assert result.kind is MediaKind.AUDIO
    (item,) = result.items
    assert item.kind is MediaKind.AUDIO and item.path.suffix == ".m4a"
    streams = _streams(item.path)
    assert "video" not in streams
    assert streams["audio"]["codec_name"] == "aac"
    assert item.duration_s is not None and 5 <= item.duration_s <= 7


async def test_audio_only_of_a_one_file_dash_pair_fetches_the_audio_alone(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    # The probe's default choice is the video+audio pair; it must not linger and be fetched
    # instead of (or run together with) the audio the audio selector chose.
    result = await make_downloader(media.long_dash_mpd, 0, options=BENCH).download(tmp_path)
    (item,) = result.items
    assert item.kind is MediaKind.AUDIO and item.path.suffix == ".m4a"
    assert set(_streams(item.path)) == {"audio"}
    assert item.duration_s is not None and 47 <= item.duration_s <= 49
    fetched = {request.path.rsplit("/", 1)[-1] for request in media_requests.requests}
    assert fetched == {"manifest.mpd", "audio.m4a"}


async def test_a_height_the_source_lacks_is_refused(media: MediaSources, tmp_path: Path) -> None:
    with pytest.raises(UnavailableResolutionError) as caught:
        await make_downloader(media.hls_master, 1080, options=BENCH).download(tmp_path)
    assert "360p, 720p" in caught.value.user_message
    assert _names(tmp_path) == []


async def test_cancellation_mid_download_leaves_nothing(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    loop = asyncio.get_running_loop()
    downloading = asyncio.Event()

    def on_progress(report: DownloadProgress) -> None:
        if report.phase is DownloadPhase.DOWNLOADING:
            loop.call_soon_threadsafe(downloading.set)

    media_requests.throttle_bytes_per_second = 2_000_000
    downloader = make_downloader(media.long_mp4, 720, options=BENCH)
    task = asyncio.create_task(downloader.download(tmp_path, progress=on_progress))
    await downloading.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _names(tmp_path) == []


async def test_the_guard_refuses_the_loopback_server_without_a_request(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    strict = DownloadOptions(allow_private_urls=False)
    with pytest.raises(PrivateAddressError):
        await get_resolutions(media.dash_mpd, strict)
    with pytest.raises(PrivateAddressError):
        await make_downloader(media.progressive_mp4, 360, options=strict).download(tmp_path)
    assert media_requests.request_count() == 0
    assert _names(tmp_path) == []


def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed(
    media: MediaSources, media_requests: MediaServer
) -> None:
    # The first hop is on an allowed network; the redirect's target (a private address) is
    # judged by the guard proxy before any connection is made to it.
    trap = media.dash_mpd.replace("127.0.0.1", "127.0.0.2")
    entry = media_requests.add_redirect("/go", trap)
    guard = GuardProxy.running().open_session(GuardPolicy.build(allowed_networks=["127.0.0.1/32"]))

    with (
        GuardedYoutubeDL({"quiet": True}, allow_private=False, guard=guard) as ydl,
        pytest.raises(GuardRefusalError) as caught,
    ):
        ydl.urlopen(entry)
    assert isinstance(caught.value.refusal, DownloadError)
    assert media_requests.request_count("/go") == 1
    assert media_requests.request_count("/dash") == 0
    assert guard.refusal_count == 1
    guard.close()
