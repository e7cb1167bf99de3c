"""Direct links are keyed by the link, not by the file's name."""

from __future__ import annotations

from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import get_resolutions
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

OPTIONS = DownloadOptions(allow_private_urls=True)


async def test_two_files_with_the_same_name_have_different_keys(media: MediaSources) -> None:
    short = await get_resolutions(media.audio_m4a, OPTIONS)
    long = await get_resolutions(media.long_audio_m4a, OPTIONS)
    assert media.audio_m4a.rsplit("/", 1)[1] == media.long_audio_m4a.rsplit("/", 1)[1]
    assert short.media_key.startswith("generic:")
    assert short.media_key != long.media_key


async def test_the_same_link_keeps_its_key(media: MediaSources) -> None:
    first = await get_resolutions(media.progressive_mp4, OPTIONS)
    again = await get_resolutions(media.progressive_mp4 + "#t=3", OPTIONS)
    assert first.media_key == again.media_key


async def test_pages_of_the_same_name_on_two_sites_have_different_keys(
    media: MediaSources, media_requests: MediaServer
) -> None:
    """yt-dlp's html5 extractor names a page's `<video>` after the page: `index-1` twice."""
    page = f'<html><head><title>Post</title></head><video src="{media.progressive_mp4}"></video>'
    first = media_requests.add_route("/site-a/index.html", body=page)
    second = media_requests.add_route("/site-b/index.html", body=page)
    keys = [(await get_resolutions(url, OPTIONS)).media_key for url in (first, second, first)]
    assert keys[0].startswith("generic:")
    assert keys[0] != keys[1]
    assert keys[0] == keys[2]
