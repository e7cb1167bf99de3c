"""A server that drips, files that are not media, direct files over the duration limit.

The dripping server sends one byte per interval after announcing megabytes: the lookup
deadline, the stall watchdog and a cancel must each end the work within seconds, whatever
yt-dlp's thread or ffprobe is blocked on.
"""

from __future__ import annotations

import asyncio
import io
import time
import zipfile
from pathlib import Path

import pytest

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import (
    DownloadOptions,
    TooLongError,
    get_resolutions,
    make_downloader,
)
from mediabot.downloaders.errors import NotMediaError, StalledError
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

LOOPBACK = DownloadOptions(allow_private_urls=True)


def _leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.rglob("*")) if folder.exists() else []


async def test_a_lookup_ends_at_its_deadline_whatever_the_server_does(
    media_requests: MediaServer,
) -> None:
    url = media_requests.add_drip("/drip/lookup.mp4", interval_s=0.5)
    # Long enough for yt-dlp to reach the server on a loaded machine, and short.
    options = DownloadOptions(allow_private_urls=True, lookup_timeout_s=4.0, stall_timeout_s=60)
    started = time.monotonic()
    with pytest.raises(StalledError) as caught:
        await get_resolutions(url, options)
    elapsed = time.monotonic() - started
    assert 4.0 <= elapsed < 7.0
    assert "too long" in caught.value.user_message
    assert media_requests.request_count("/drip") >= 1


async def test_a_download_slower_than_the_minimum_rate_is_abandoned(
    media_requests: MediaServer, tmp_path: Path
) -> None:
    url = media_requests.add_drip("/drip/slow.mp4", interval_s=0.2)
    options = DownloadOptions(
        allow_private_urls=True, stall_timeout_s=10, min_transfer_kbps=4, min_transfer_window_s=1.5
    )
    started = time.monotonic()
    with pytest.raises(StalledError) as caught:
        await make_downloader(url, 0, options=options, kind=MediaKind.VIDEO).download(tmp_path)
    assert time.monotonic() - started < 6.0
    assert not caught.value.transient
    assert caught.value.user_message == "The source is sending too slowly; try again later."
    assert _leftovers(tmp_path) == []


async def test_a_download_that_receives_nothing_is_abandoned(
    media_requests: MediaServer, tmp_path: Path
) -> None:
    url = media_requests.add_drip("/drip/silent.mp4", interval_s=30)
    options = DownloadOptions(allow_private_urls=True, stall_timeout_s=1.0, min_transfer_kbps=0)
    started = time.monotonic()
    with pytest.raises(StalledError):
        await make_downloader(url, 0, options=options, kind=MediaKind.VIDEO).download(tmp_path)
    assert time.monotonic() - started < 5.0
    assert _leftovers(tmp_path) == []


async def test_cancelling_a_dripping_download_returns_at_once_and_leaves_nothing(
    media_requests: MediaServer, tmp_path: Path
) -> None:
    url = media_requests.add_drip("/drip/cancel.mp4", interval_s=0.5)
    options = DownloadOptions(allow_private_urls=True, stall_timeout_s=60, min_transfer_kbps=0)
    task = asyncio.create_task(
        make_downloader(url, 0, options=options, kind=MediaKind.VIDEO).download(tmp_path)
    )
    deadline = time.monotonic() + 10
    while not media_requests.request_count("/drip/cancel.mp4"):
        assert time.monotonic() < deadline, "the download never reached the server"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # let it block in a read
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 3.0
    assert _leftovers(tmp_path) == []


async def test_max_duration_applies_to_direct_files(media: MediaSources, tmp_path: Path) -> None:
    limited = DownloadOptions(allow_private_urls=True, max_duration_s=3)
    with pytest.raises(TooLongError):
        await get_resolutions(media.progressive_mp4, limited)
    with pytest.raises(TooLongError):
        await make_downloader(media.progressive_mp4, 360, options=limited).download(tmp_path)
    assert _leftovers(tmp_path) == []


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a video " * 200)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("page", b"<!doctype html><html><body><p>Hello</p></body></html>" * 20),
        ("archive", _zip()),
        ("empty", b""),
    ],
)
async def test_files_that_are_not_media_are_refused_at_lookup(
    media_requests: MediaServer, name: str, body: bytes
) -> None:
    url = media_requests.add_route(
        f"/not-media/{name}.mp4", body=body, headers={"Content-Type": "video/mp4"}
    )
    with pytest.raises(NotMediaError) as caught:
        await get_resolutions(url, LOOPBACK)
    assert caught.value.user_message == "This link is not a video or audio file."


@pytest.mark.parametrize("kind", [MediaKind.VIDEO, MediaKind.AUDIO])
async def test_a_link_with_a_very_long_last_segment_downloads(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path, kind: MediaKind
) -> None:
    """Signed CDN links carry long segments; yt-dlp names the file after them (its id)."""
    url = media_requests.add_route(
        "/v/" + "b" * 300 + ".mp4",
        body=media.path(media.progressive_mp4).read_bytes(),
        headers={"Content-Type": "video/mp4"},
    )
    height = 360 if kind is MediaKind.VIDEO else 0
    result = await make_downloader(url, height, options=LOOPBACK, kind=kind).download(tmp_path)
    assert result.items and all(len(item.path.name.encode()) < 255 for item in result.items)
