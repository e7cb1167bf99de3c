"""What a lookup found, kept with the offer so a press soon after needs no second lookup.

A lookup's info (yt-dlp's, sanitized: plain JSON) is what a download chooses its formats
from. Kept with the offer (`Offer.found`), wherever the lookup ran, it serves a press made
while its addresses are still good: `FOUND_TTL_S` after the lookup, and never past an
address's own expiry (YouTube's carry one). The heavy parts a download never reads
(captions, comments, the list of thumbnails) are left out.

The info travels packed (`{"at": ..., "packed": <base64 of deflated JSON>}`), its long
fragment lists as runs (`fragment_runs`): a long manifest's info, a megabyte of JSON as
yt-dlp gives it, is a few kilobytes in the lookup processes' answers, the shared answers
and the offers in the database, and only a press that downloads unpacks it.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mediabot.downloaders import fragment_runs
from mediabot.downloaders.formats import InfoDict

FOUND_TTL_S = 15 * 60.0
"""A lookup older than this is done again: sites' addresses may expire, formats change."""
_EXPIRY_MARGIN_S = 5 * 60.0
"""An address whose own expiry is this close is not trusted for a download."""
_RUNS = "fragment_runs"
"""The key under which a format keeps its long fragment list as runs."""
_LEVEL = 1
"""Deflate's fastest level: within a few percent of its best on an info's JSON."""
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
    """`info` as it is kept with an offer: the lookup's time and the info, trimmed, packed."""
    trimmed = {key: value for key, value in info.items() if key not in _LEFT_OUT}
    if isinstance(trimmed.get("formats"), list):
        trimmed["formats"] = [_with_runs(fmt) for fmt in trimmed["formats"]]
    data = json.dumps(trimmed, separators=(",", ":"), check_circular=False).encode()
    packed = base64.b64encode(zlib.compress(data, _LEVEL)).decode("ascii")
    return {"at": time.time() if now is None else now, "packed": packed}


def fresh(found: Mapping[str, Any] | None, now: float | None = None) -> InfoDict | None:
    """The info of `found` while it may still serve a download, else None (a `found` that
    does not unpack is no use either: the download looks the link up again)."""
    if not found:
        return None
    now = time.time() if now is None else now
    at = found.get("at")
    if not isinstance(at, int | float) or not 0 <= now - at < FOUND_TTL_S:
        return None
    info = _unpacked(found)
    if info is None:
        return None
    if any(_expires(url) < now + _EXPIRY_MARGIN_S for url in _urls(info)):
        return None
    return info


def _unpacked(found: Mapping[str, Any]) -> InfoDict | None:
    """The info `keep` packed into `found`; None for anything else."""
    packed = found.get("packed")
    if not isinstance(packed, str):
        return None
    try:
        info = json.loads(zlib.decompress(base64.b64decode(packed, validate=True)))
        if not isinstance(info, dict) or not isinstance(formats := info.get("formats") or [], list):
            return None
        if formats:
            info["formats"] = [_with_fragments(fmt) for fmt in formats]
    except (binascii.Error, zlib.error, ValueError, LookupError, TypeError, RecursionError):
        return None
    return info


def _with_runs(fmt: Any) -> Any:
    """A format whose long fragment list is kept as runs (a copy: `fmt` is left as it is)."""
    listed = fmt.get("fragments") if isinstance(fmt, dict) else None
    if not isinstance(listed, list) or not all(isinstance(each, dict) for each in listed):
        return fmt
    kept = fragment_runs.runs(listed)
    if kept is None:
        return fmt
    return {**{key: value for key, value in fmt.items() if key != "fragments"}, _RUNS: kept}


def _with_fragments(fmt: Any) -> Any:
    """A format `_with_runs` kept, with its fragment list back."""
    if not isinstance(fmt, dict) or _RUNS not in fmt:
        return fmt
    kept = fmt.pop(_RUNS)
    fmt["fragments"] = fragment_runs.fragments(kept)
    return fmt


def _urls(info: InfoDict) -> list[str]:
    formats = info.get("formats") or []
    urls = [str(fmt.get("url")) for fmt in formats if isinstance(fmt, dict) and fmt.get("url")]
    if info.get("url"):
        urls.append(str(info["url"]))
    return urls


def _expires(url: str) -> float:
    """When `url` says it expires (`expire=<unix time>` in its query), else never (an
    address that does not parse says nothing)."""
    try:
        values = parse_qs(urlsplit(url).query).get("expire")
        return float(values[0]) if values else float("inf")
    except ValueError:
        return float("inf")
