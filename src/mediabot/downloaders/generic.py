"""Every other site yt-dlp knows, and direct links to media files."""

from __future__ import annotations

from urllib.parse import urlsplit

from mediabot.domain.enums import Provider
from mediabot.downloaders.base import Downloader


class GenericDownloader(Downloader):
    """The fallback: any http(s) link; yt-dlp decides whether it finds media there.

    Its key comes from the extractor yt-dlp chose (`<extractor>:<id>`), known only after
    probing, so `media_key(url)` is None.
    """

    provider = Provider.GENERIC

    @classmethod
    def suitable(cls, url: str) -> bool:
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return False
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
