"""Instagram: reels, video posts, photo posts and carousels, keyed `instagram:<shortcode>`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from mediabot.domain.enums import Provider
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.options import DownloadOptions

_HOSTS = frozenset({"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am"})
_POST_PATH = re.compile(r"^/(?:[A-Za-z0-9_.]+/)?(?:p|reels?|tv)/(?P<code>[A-Za-z0-9_-]+)")


class InstagramDownloader(Downloader):
    """Posts on Instagram; a carousel comes back as its photos and videos in order.

    yt-dlp's Instagram extractor does the site work (kept current from PyPI). A photo post
    has no playable formats, so extraction is told to tolerate that and the photos are
    fetched from the image candidates it reports.
    """

    provider = Provider.INSTAGRAM
    _accepts_collections = True
    _extra_params: ClassVar[dict[str, Any]] = {"ignore_no_formats_error": True}
    TEST_URLS: ClassVar[tuple[str, ...]] = (
        "https://www.instagram.com/p/C1a2b3c4D5e/",
        "https://www.instagram.com/reel/C1a2b3c4D5e/?igsh=abc",
        "https://instagram.com/reels/C1a2b3c4D5e",
        "https://www.instagram.com/someone/p/C1a2b3c4D5e/",
    )

    @classmethod
    def suitable(cls, url: str) -> bool:
        try:
            return (urlsplit(url.strip()).hostname or "").lower() in _HOSTS
        except ValueError:
            return False

    @classmethod
    def media_key(cls, url: str) -> str | None:
        code = _shortcode(url)
        return f"instagram:{code}" if code else None

    @classmethod
    def _source_url(cls, url: str) -> str:
        code = _shortcode(url)
        return f"https://www.instagram.com/p/{code}/" if code else url.strip()

    @classmethod
    def _cookies_file(cls, options: DownloadOptions) -> Path | None:
        return options.instagram_cookies_file

    @classmethod
    def _key_from_info(cls, info: InfoDict) -> str:
        return f"instagram:{info.get('id')}"


def _shortcode(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in _HOSTS:
        return None
    match = _POST_PATH.match(parts.path)
    return match.group("code") if match else None
