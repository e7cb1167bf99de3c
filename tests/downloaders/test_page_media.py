"""Pages with a `<video>` element (yt-dlp's `html5` embeds), and what servers lie about.

yt-dlp hands a page's `<video src>` over with neither height nor duration: ffprobe reads
them, through the guard and within the lookup deadline, so the offer lists the real height,
size and duration and the duration limit applies; what the start of a file hides, the
downloaded file tells, and it is refused before anything is sent. A server's Content-Length
is not taken for the size when the media says otherwise. Every test runs with the guard on
(127.0.0.1/32 stands for a public host); the pages go through the real yt-dlp generic and
html5 extractors.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from mediabot.downloaders import (
    DownloadOptions,
    PrivateAddressError,
    TooLongError,
    get_resolutions,
    make_downloader,
)
from mediabot.media.cutters.files import Splitter
from mediabot.media.probe import probe
from tests.support.media import PAGE_DURATION, PAGE_SIZE, MediaSources
from tests.support.media_server import MediaServer
from tests.support.pages import blog_post, blog_video

ALLOWED = ("127.0.0.1/32",)
GUARDED = DownloadOptions(allow_private_urls=False, allowed_private_networks=ALLOWED)
ONE_MINUTE = dataclasses.replace(GUARDED, max_duration_s=60)
HEIGHT = PAGE_SIZE[1]


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize(
    "element",
    [
        '<video controls src="{src}"></video>',
        '<video controls><source src="{src}" type="video/mp4"></video>',
        '<video controls><source src="{relative}"></video>',
    ],
    ids=["src", "source", "relative"],
)
async def test_a_page_video_is_offered_its_height_size_and_duration(
    media: MediaSources, media_requests: MediaServer, element: str
) -> None:
    relative = "../../" + media.page_mp4.removeprefix(media.base_url + "/")
    url = blog_post(
        media_requests,
        "/blog/2024/post.html",
        element.format(src=media.page_mp4, relative=relative),
    )
    offer = await get_resolutions(url, GUARDED)
    size = media.path(media.page_mp4).stat().st_size
    (resolution,) = offer.resolutions
    assert resolution.height == HEIGHT
    assert resolution.estimated_bytes is not None
    assert 0.8 * size <= resolution.estimated_bytes <= 1.2 * size
    assert offer.duration_s == pytest.approx(PAGE_DURATION, abs=0.5)
    assert offer.has_audio
    assert offer.audio_estimated_bytes is not None
    assert 0 < offer.audio_estimated_bytes < size / 2


async def test_a_page_video_downloads_at_its_height_with_sound(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    url = blog_video(media_requests, "/blog/download.html", media.page_mp4)
    result = await make_downloader(url, HEIGHT, options=GUARDED).download(tmp_path)
    (item,) = result.items
    facts = await probe(item.path)
    assert facts.video is not None and facts.video.codec_name == "h264"
    assert facts.video.height == HEIGHT
    assert facts.audio is not None and facts.audio.codec_name == "aac"
    assert item.duration_s == pytest.approx(PAGE_DURATION, abs=0.5)


async def test_a_page_video_over_the_duration_limit_is_refused_at_lookup(
    media: MediaSources, media_requests: MediaServer
) -> None:
    url = blog_video(media_requests, "/blog/long.html", media.page_long["mp4"])
    with pytest.raises(TooLongError) as caught:
        await get_resolutions(url, ONE_MINUTE)
    assert caught.value.user_message == "This media is 2 min long; the limit is 1 min."


@pytest.mark.parametrize("container", ["ts", "fragmented"])
async def test_a_length_the_lookup_cannot_see_is_refused_once_downloaded(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path, container: str
) -> None:
    """MPEG-TS states no length; a fragmented MP4's first fragments say ~10 s of 120."""
    url = blog_video(media_requests, f"/blog/hidden-{container}.html", media.page_long[container])
    offer = await get_resolutions(url, ONE_MINUTE)
    assert [r.height for r in offer.resolutions] == [HEIGHT]
    assert (offer.duration_s or 0) < 60
    dest = tmp_path / "out"
    with pytest.raises(TooLongError) as caught:
        await make_downloader(url, HEIGHT, options=ONE_MINUTE).download(dest)
    assert caught.value.user_message == "This media is 2 min long; the limit is 1 min."
    assert _files(dest) == []  # nothing left for a sender


async def test_a_streamed_source_longer_than_its_start_says_is_refused_before_a_part(
    media: MediaSources, media_requests: MediaServer, tmp_path: Path
) -> None:
    url = blog_video(media_requests, "/blog/streamed.html", media.page_long["fragmented"])
    plan = await make_downloader(url, HEIGHT, options=ONE_MINUTE).locate_streams()
    assert plan is not None
    assert (plan.duration_s or 0) < 60
    splitter = Splitter(plan.source, tmp_path, stem="part")
    try:
        with pytest.raises(TooLongError):
            await splitter.open()
    finally:
        await splitter.close()
    assert _files(tmp_path) == []


async def test_a_page_video_that_fails_leaves_the_offer_as_yt_dlp_made_it(
    media_requests: MediaServer,
) -> None:
    url = blog_video(media_requests, "/blog/gone.html", media_requests.url("/blog/gone.mp4"))
    offer = await get_resolutions(url, GUARDED)
    assert offer.resolutions == ()
    assert offer.title.startswith("A blog post")
    assert media_requests.request_count("/blog/gone.mp4") >= 1


@pytest.mark.parametrize("limit", ["deadline", "stall"])
async def test_a_page_video_that_drips_is_abandoned_and_the_page_still_offered(
    media_requests: MediaServer, limit: str
) -> None:
    drip = media_requests.add_drip(f"/blog/drip-{limit}.mp4", interval_s=0.5)
    url = blog_video(media_requests, f"/blog/drip-{limit}.html", drip)
    if limit == "deadline":
        options = dataclasses.replace(
            GUARDED, lookup_timeout_s=6.0, stall_timeout_s=60, min_transfer_kbps=0
        )
    else:
        options = dataclasses.replace(
            GUARDED, stall_timeout_s=60, min_transfer_kbps=4, min_transfer_window_s=1.5
        )
    started = time.monotonic()
    offer = await get_resolutions(url, options)
    assert time.monotonic() - started < 6.0
    assert offer.resolutions == ()
    assert media_requests.request_count(f"/blog/drip-{limit}.mp4") == 1


async def test_a_page_video_on_a_private_address_is_refused_and_never_reached(
    media: MediaSources, media_requests: MediaServer, trap: MediaServer
) -> None:
    private = media.page_mp4.replace("127.0.0.1", "127.0.0.2")
    url = blog_video(media_requests, "/blog/private.html", private)
    with pytest.raises(PrivateAddressError):
        await get_resolutions(url, GUARDED)
    assert trap.requests == []


async def test_a_page_video_one_redirect_from_a_private_address_is_refused(
    media: MediaSources, media_requests: MediaServer, trap: MediaServer
) -> None:
    hop = media_requests.add_redirect(
        "/blog/hop.mp4", media.page_mp4.replace("127.0.0.1", "127.0.0.2")
    )
    url = blog_video(media_requests, "/blog/hop.html", hop)
    with pytest.raises(PrivateAddressError):
        await get_resolutions(url, GUARDED)
    assert trap.requests == []
    assert media_requests.request_count("/blog/hop.mp4") == 1


@pytest.mark.parametrize("source", ["page_mp4", "page_long"])
async def test_a_huge_content_length_is_not_offered_as_the_size(
    media: MediaSources, media_requests: MediaServer, source: str
) -> None:
    """2 GiB announced for files of 0.3 and 1.4 MB (one read whole, one only begun)."""
    file = media.path(media.page_mp4 if source == "page_mp4" else media.page_long["mp4"])
    url = media_requests.add_file(
        f"/files/{source}.mp4", file, "video/mp4", announced_bytes=2 * 1024**3
    )
    offer = await get_resolutions(url, GUARDED)
    (resolution,) = offer.resolutions
    size = file.stat().st_size
    assert resolution.estimated_bytes is not None
    assert 0.5 * size <= resolution.estimated_bytes <= 2 * size


async def test_a_stream_whose_server_claims_a_huge_total_is_downloaded_instead(
    media: MediaSources, media_requests: MediaServer
) -> None:
    """Parts are planned from real bytes: the download's, not the server's byte ranges."""
    url = media_requests.add_file(
        "/files/ranged.mp4",
        media.path(media.page_long["mp4"]),
        "video/mp4",
        announced_bytes=2 * 1024**3,
    )
    downloader = make_downloader(url, HEIGHT, options=GUARDED)
    assert await downloader.locate_streams() is None
    ranges = [r.range for r in media_requests.requests if r.path == "/files/ranged.mp4"]
    assert "bytes=0-0" in ranges  # the pin was asked, and its total judged


async def test_a_huge_content_length_behind_a_page_is_not_offered_as_the_size(
    media: MediaSources, media_requests: MediaServer
) -> None:
    file = media.path(media.page_mp4)
    video = media_requests.add_file(
        "/files/embedded.mp4", file, "video/mp4", announced_bytes=2 * 1024**3
    )
    offer = await get_resolutions(blog_video(media_requests, "/blog/liar.html", video), GUARDED)
    (resolution,) = offer.resolutions
    assert resolution.estimated_bytes is not None
    assert resolution.estimated_bytes <= 2 * file.stat().st_size
