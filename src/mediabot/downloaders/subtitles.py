"""Which subtitles to send with a video, chosen from yt-dlp's info dictionary. Pure functions.

yt-dlp lists a video's tracks by language code in `subtitles` (written by people) and
`automatic_captions` (speech recognition, and on YouTube the same recognised speech
machine-translated into a hundred languages, each URL asking for a `tlang`). The choice:

1. subtitles written in the user's language;
2. else the original: subtitles in the video's own language (`language`), else the first
   written track;
3. else the recognised speech in the video's own language (`xx-orig`, or `xx` when it is
   no translation). A machine translation is never chosen: it reads worse than the
   original, which the user can translate as well as the site can.

Only formats ffmpeg reads are taken (SRT, WebVTT, ASS), in that order of preference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mediabot.downloaders.formats import InfoDict

_READABLE = ("srt", "vtt", "ass")
"""Subtitle formats ffmpeg converts to SRT, the preferred first."""
_NOT_SUBTITLES = frozenset({"live_chat", "rechat", "danmaku", "comments"})
"""Keys some extractors list among `subtitles` that hold chat, not speech."""
_ORIGINAL = "-orig"


@dataclass(frozen=True, slots=True)
class SubtitleTrack:
    """One subtitle file to fetch: its URL, format (`ext`), language code, whether it is
    recognised speech, and the request headers yt-dlp would send."""

    url: str
    ext: str
    language: str
    automatic: bool
    headers: Mapping[str, str]


def has_subtitles(info: InfoDict) -> bool:
    """Whether a "subtitles" choice can be offered: some track `choose_subtitles` takes."""
    return choose_subtitles(info, None) is not None


def choose_subtitles(info: InfoDict, user_language: str | None) -> SubtitleTrack | None:
    """The track to send to a user speaking `user_language` (a code such as `ru` or
    `ru-RU`; None: the original), or None when the video has none ffmpeg can read."""
    written = _tracks(info.get("subtitles"), automatic=False, headers=_headers(info))
    spoken = _tracks(info.get("automatic_captions"), automatic=True, headers=_headers(info))
    original = _primary(info.get("language"))
    for wanted in (_primary(user_language), original):
        found = next((t for t in written if wanted and _primary(t.language) == wanted), None)
        if found is not None:
            return found
    if written:
        return written[0]
    recognised = [t for t in spoken if not _translated(t)]
    if original is not None:
        recognised = [t for t in recognised if _primary(t.language) == original]
    exact = [t for t in recognised if t.language.endswith(_ORIGINAL)]
    return next(iter(exact or recognised), None)


def _tracks(listed: Any, *, automatic: bool, headers: Mapping[str, str]) -> list[SubtitleTrack]:
    """One track per language (its most readable format), in the order listed."""
    if not isinstance(listed, Mapping):
        return []
    tracks = []
    for language, formats in listed.items():
        if language in _NOT_SUBTITLES or not isinstance(formats, list):
            continue
        best = _most_readable(fmt for fmt in formats if isinstance(fmt, Mapping))
        if best is not None:
            ext, url = best
            tracks.append(SubtitleTrack(url, ext, str(language), automatic, headers))
    return tracks


def _most_readable(formats: Iterable[Mapping[str, Any]]) -> tuple[str, str] | None:
    usable = [
        (str(fmt["ext"]), str(fmt["url"]))
        for fmt in formats
        if fmt.get("ext") in _READABLE and isinstance(fmt.get("url"), str)
    ]
    usable.sort(key=lambda item: _READABLE.index(item[0]))
    return usable[0] if usable else None


def _translated(track: SubtitleTrack) -> bool:
    """A machine translation of recognised speech (YouTube's `tlang`)."""
    return "tlang" in parse_qs(urlsplit(track.url).query)


def _primary(language: Any) -> str | None:
    """The language part of a code (`ru-RU` → `ru`, `en-orig` → `en`), lower case."""
    if not isinstance(language, str) or not language:
        return None
    return language.replace("_", "-").split("-", 1)[0].lower()


def _headers(info: InfoDict) -> dict[str, str]:
    headers = info.get("http_headers") or {}
    return {str(name): str(value) for name, value in headers.items()}
