"""YouTube: every URL form maps to `youtube:<11-character id>`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from mediabot.domain.enums import Provider
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.errors import PlaylistLinkError
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.options import DownloadOptions

_VIDEO_ID = re.compile(r"^[0-9A-Za-z_-]{11}$")
_HOSTS = frozenset(
    {
        "youtube.com",
        "www.youtube.com",
        "m.youtube.com",
        "music.youtube.com",
        "gaming.youtube.com",
        "youtube-nocookie.com",
        "www.youtube-nocookie.com",
        "youtu.be",
        "www.youtu.be",
    }
)
# Path forms that carry the id as the segment after the prefix.
_PATH_PREFIXES = ("shorts", "embed", "live", "v", "e", "watch")


class YouTubeDownloader(Downloader):
    """Videos, shorts, music tracks and finished live streams on YouTube."""

    provider = Provider.YOUTUBE
    TEST_URLS: ClassVar[tuple[str, ...]] = (
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?t=42",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&feature=share",
        "https://m.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?si=abc",
    )

    @classmethod
    def suitable(cls, url: str) -> bool:
        return _host(url) in _HOSTS

    @classmethod
    def media_key(cls, url: str) -> str | None:
        video_id = _video_id(url)
        return f"youtube:{video_id}" if video_id else None

    @classmethod
    def _source_url(cls, url: str) -> str:
        # The canonical watch URL drops timestamps, tracking and `list=` (one video only).
        video_id = _video_id(url)
        return f"https://www.youtube.com/watch?v={video_id}" if video_id else url.strip()

    @classmethod
    def _check_link(cls, url: str) -> None:
        if _video_id(url) is None and "list" in parse_qs(urlsplit(url.strip()).query):
            raise PlaylistLinkError(detail=f"playlist link {url}")

    @classmethod
    def _cookies_file(cls, options: DownloadOptions) -> Path | None:
        return options.youtube_cookies_file

    @classmethod
    def _key_from_info(cls, info: InfoDict) -> str:
        return f"youtube:{info.get('id')}"


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _query_value(query: str, name: str) -> str | None:
    values = parse_qs(query).get(name)
    return values[0] if values else None


def _video_id(url: str) -> str | None:
    """The 11-character id in any YouTube URL form, or None (channels, playlists)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host not in _HOSTS:
        return None
    segments = [segment for segment in parts.path.split("/") if segment]
    candidate: str | None = None
    if host.endswith("youtu.be"):
        candidate = segments[0] if segments else None
    elif segments and segments[0] == "watch" and len(segments) == 1:
        candidate = _query_value(parts.query, "v")
    elif len(segments) >= 2 and segments[0] in _PATH_PREFIXES:
        candidate = segments[1]
    elif not segments or segments == ["attribution_link"]:
        # `/?v=ID` and attribution links carry the id in the query.
        candidate = _query_value(parts.query, "v")
    if candidate and _VIDEO_ID.match(candidate):
        return candidate
    return None
