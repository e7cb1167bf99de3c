"""What a lookup found, kept with the offer so a press soon after needs no second lookup.

A lookup's info (yt-dlp's, sanitized: plain JSON) is what a download chooses its formats
from. Kept with the offer (`Offer.found`), wherever the lookup ran, it serves a press made
while its addresses are still good: `FOUND_TTL_S` after the lookup, and never past an
address's own expiry (YouTube's carry one). The heavy parts a download never reads
(captions, comments, the list of thumbnails) are left out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mediabot.downloaders.formats import InfoDict

FOUND_TTL_S = 15 * 60.0
"""A lookup older than this is done again: sites' addresses may expire, formats change."""
_EXPIRY_MARGIN_S = 5 * 60.0
"""An address whose own expiry is this close is not trusted for a download."""
_LEFT_OUT = frozenset(
    {
        "automatic_captions",
        "subtitles",
        "requested_subtitles",
        "comments",
        "heatmap",
        "chapters",
        "thumbnails",
        "description",
        "tags",
        "categories",
        "requested_formats",
        "requested_downloads",
    }
)


def keep(info: InfoDict, now: float | None = None) -> dict[str, Any]:
    """`info` as it is kept with an offer: the lookup's time and the info, trimmed."""
    trimmed = {key: value for key, value in info.items() if key not in _LEFT_OUT}
    return {"at": time.time() if now is None else now, "info": trimmed}


def fresh(found: Mapping[str, Any] | None, now: float | None = None) -> InfoDict | None:
    """The info of `found` while it may still serve a download, else None."""
    if not found or not isinstance(found.get("info"), dict):
        return None
    now = time.time() if now is None else now
    at = found.get("at")
    if not isinstance(at, int | float) or not 0 <= now - at < FOUND_TTL_S:
        return None
    info: InfoDict = dict(found["info"])
    if any(_expires(url) < now + _EXPIRY_MARGIN_S for url in _urls(info)):
        return None
    return info


def _urls(info: InfoDict) -> list[str]:
    formats = info.get("formats") or []
    urls = [str(fmt.get("url")) for fmt in formats if isinstance(fmt, dict) and fmt.get("url")]
    if info.get("url"):
        urls.append(str(info["url"]))
    return urls


def _expires(url: str) -> float:
    """When `url` says it expires (`expire=<unix time>` in its query), else never."""
    values = parse_qs(urlsplit(url).query).get("expire")
    try:
        return float(values[0]) if values else float("inf")
    except ValueError:
        return float("inf")
