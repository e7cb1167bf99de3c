"""Every other site yt-dlp knows, and direct links to media files."""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from mediabot.domain.enums import Provider
from mediabot.downloaders.base import Downloader
from mediabot.downloaders.formats import InfoDict


class GenericDownloader(Downloader):
    """The fallback: any http(s) link; yt-dlp decides whether it finds media there.

    Its key comes from the extractor yt-dlp chose (`<extractor>:<id>`), known only after
    probing, so `media_key(url)` is None. yt-dlp's own "generic" extractor (direct links,
    manifests, embeds) names media after the file, and its "html5" extractor (a page's
    `<video>` and `<audio>`) after the page and the element's place in it: `video.mp4` or
    `index.html` on two sites is not the same video, so their key is a digest of the link
    (and, for a page, the element's place) instead.
    """

    provider = Provider.GENERIC
    fallback = True

    @classmethod
    def suitable(cls, url: str) -> bool:
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return False
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)

    @classmethod
    def _key_from_info(cls, info: InfoDict) -> str:
        extractor = str(info.get("extractor_key") or info.get("extractor") or "generic").lower()
        if extractor not in _NAMED_BY_THE_LINK:
            return super()._key_from_info(info)
        url = str(info.get("webpage_url") or info.get("original_url") or info.get("url") or "")
        parts = urlsplit(url.strip())
        canonical = urlunsplit(
            (parts.scheme.lower(), (parts.netloc or "").lower(), parts.path, parts.query, "")
        )
        if extractor != "generic":
            canonical += f" {info.get('id')}"  # one page may hold several elements
        return "generic:" + hashlib.sha256(canonical.encode()).hexdigest()[:20]


_NAMED_BY_THE_LINK = frozenset({"generic", "html5mediaembed"})
"""yt-dlp extractors whose ids name a file or a page, not media of a site's own."""
