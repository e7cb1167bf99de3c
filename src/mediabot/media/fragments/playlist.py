"""A fragmented source's tracks: their fragments as listed by an HLS media playlist or yt-dlp.

A track is an optional initialization fragment and media fragments that, concatenated in
order, are one playable stream: MPEG-TS segments, or fragmented MP4 after its init. Parsing
reads text only; what cannot be cut as one stream is refused here, before any fragment is
fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

from mediabot.media.parts import SplitError
from mediabot.media.probe import without_query

_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True, slots=True)
class FragmentKey:
    """AES-128 (CBC, PKCS#7) key of an HLS fragment: where the key is, and the IV."""

    url: str
    iv: bytes


@dataclass(frozen=True, slots=True)
class Fragment:
    """One piece of a track: its URL, its nominal duration, an optional byte range
    (offset, length) and key."""

    url: str
    duration_s: float | None = None
    byte_range: tuple[int, int] | None = None
    key: FragmentKey | None = None


@dataclass(frozen=True, slots=True)
class FragmentTrack:
    """One track: an HLS media playlist to read, or DASH's fragments as yt-dlp lists them
    (`init` first, then the media fragments)."""

    playlist_url: str | None = None
    init: Fragment | None = None
    fragments: tuple[Fragment, ...] = ()


def parse_media_playlist(text: str, url: str) -> FragmentTrack:
    """The fragments of an HLS media playlist at `url` (a VOD one: ended, no discontinuity).

    Raises `SplitError` for what cannot be cut as one stream: a master playlist, a live
    playlist, a discontinuity, encryption other than AES-128.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise SplitError(f"{without_query(url)} is not an HLS playlist")
    init: Fragment | None = None
    fragments: list[Fragment] = []
    sequence = 0
    duration: float | None = None
    byte_range: tuple[int, int] | None = None
    next_offset = 0
    key: tuple[str, bytes | None] | None = None
    ended = False
    for line in lines[1:]:
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-STREAM-INF":
            raise SplitError("a master playlist, not a media playlist")
        if tag == "#EXT-X-DISCONTINUITY":
            raise SplitError("the playlist has a discontinuity")
        if tag == "#EXT-X-MEDIA-SEQUENCE":
            sequence = int(value)
        elif tag == "#EXTINF":
            duration = float(value.split(",", 1)[0])
        elif tag == "#EXT-X-BYTERANGE":
            byte_range = _byte_range(value, next_offset)
        elif tag == "#EXT-X-KEY":
            key = _key(_attributes(value), url)
        elif tag == "#EXT-X-MAP":
            attributes = _attributes(value)
            map_range = attributes.get("BYTERANGE")
            mapped = Fragment(
                urljoin(url, attributes["URI"]),
                byte_range=_byte_range(map_range, 0) if map_range else None,
            )
            if init is not None and mapped != init:
                raise SplitError("the playlist changes its initialization fragment")
            init = mapped
        elif tag == "#EXT-X-ENDLIST":
            ended = True
        elif not line.startswith("#"):
            fragment_key = None
            if key is not None:
                fragment_key = FragmentKey(key[0], key[1] or sequence.to_bytes(16, "big"))
            fragments.append(Fragment(urljoin(url, line), duration, byte_range, fragment_key))
            if byte_range is not None:
                next_offset = byte_range[0] + byte_range[1]
            sequence += 1
            duration, byte_range = None, None
    if not ended:
        raise SplitError("a live playlist (no end) cannot be cut ahead")
    if not fragments:
        raise SplitError("the playlist lists no fragment")
    return FragmentTrack(playlist_url=url, init=init, fragments=tuple(fragments))


def _attributes(value: str) -> dict[str, str]:
    return {name: raw.strip('"') for name, raw in _ATTRIBUTE.findall(value)}


def _byte_range(value: str, next_offset: int) -> tuple[int, int]:
    length, _, offset = value.partition("@")
    return (int(offset) if offset else next_offset, int(length))


def _key(attributes: Mapping[str, str], url: str) -> tuple[str, bytes | None] | None:
    method = attributes.get("METHOD", "NONE")
    if method == "NONE":
        return None
    if method != "AES-128" or "URI" not in attributes:
        raise SplitError(f"fragments encrypted with {method} cannot be read")
    iv = attributes.get("IV")
    return urljoin(url, attributes["URI"]), bytes.fromhex(iv[2:].rjust(32, "0")) if iv else None
