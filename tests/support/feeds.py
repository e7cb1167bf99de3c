"""Playlists made by the tests: podcast feeds (RSS with enclosures) that yt-dlp's generic
extractor lists as playlists, over distinct links to the generated media."""

from __future__ import annotations

from tests.support.media import MediaSources
from tests.support.media_server import MediaServer


def podcast_feed(
    server: MediaServer,
    path: str,
    links: list[str],
    *,
    title: str = "Feed",
    lengths: list[str] | None = None,
) -> str:
    """Serve at `path` a feed whose items are `links` (as long as `lengths` say, else
    0:03 each); its URL."""
    body = "".join(
        f"<item><title>{title} item {number}</title>"
        f'<enclosure url="{link}" type="video/mp4"/>'
        f"<itunes:duration>{length}</itunes:duration></item>"
        for number, (link, length) in enumerate(
            zip(links, lengths or ["0:03"] * len(links), strict=True), start=1
        )
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
        f"<channel><title>{title}</title>{body}</channel></rss>"
    )
    return server.add_route(path, body=feed, headers={"Content-Type": "application/rss+xml"})


def distinct_items(server: MediaServer, media: MediaSources, name: str, count: int) -> list[str]:
    """`count` links to the same small MP4 under distinct paths: distinct media to the bot."""
    source = media.path(media.progressive_mp4)
    return [
        server.add_file(f"/{name}/item{number}.mp4", source, "video/mp4")
        for number in range(1, count + 1)
    ]
