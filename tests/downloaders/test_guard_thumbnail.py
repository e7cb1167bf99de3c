"""A thumbnail on a private address is skipped by the guard; the download goes on without it."""

from __future__ import annotations

from pathlib import Path

from mediabot.domain.enums import MediaKind
from mediabot.downloaders import DownloadOptions
from mediabot.downloaders.sites.generic import GenericDownloader
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer

GUARDED = DownloadOptions(allow_private_urls=False, allowed_private_networks=("127.0.0.1/32",))


async def test_a_thumbnail_on_a_private_address_is_skipped_not_fatal(
    media: MediaSources, media_requests: MediaServer, trap: MediaServer, tmp_path: Path
) -> None:
    poster = trap.url("progressive/poster.jpg")
    page = media_requests.add_route(
        "/pages/poster-on-loopback.html",
        body=(
            "<html><head><title>Poster elsewhere</title></head><body>"
            f'<video controls poster="{poster}">'
            f'<source src="{media.progressive_mp4}" type="video/mp4"></video>'
            "</body></html>"
        ),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    options = await GenericDownloader.get_resolutions(page, options=GUARDED)
    assert options.has_audio, "the page's media is offered"
    # Audio embeds the thumbnail as its cover, so the poster is asked for.
    result = await GenericDownloader(page, options=GUARDED, kind=MediaKind.AUDIO).download(tmp_path)
    assert result.items and all(item.path.exists() for item in result.items)
    assert trap.requests == []
