"""What the cutters cut: files or remote files (`SplitSource`), or fragments (`SegmentedSource`).

Plain descriptions, built by the downloaders and read by the cutters: nothing here reads
the network or runs a tool, so describing a source loads no cutter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mediabot.domain.enums import MediaKind

if TYPE_CHECKING:
    from mediabot.media.fragments.playlist import FragmentTrack
    from mediabot.media.remote.http import UrlCheck

DurationCheck = Callable[[float], None]
"""Called with a source's duration once it is read, before any part is cut; raises (the
caller's own error) to refuse the source."""


def is_url(source: str | Path) -> bool:
    """True for an HTTP(S) URL, False for a path on disk."""
    return str(source).startswith(("http://", "https://"))


def _check_kind(kind: MediaKind) -> None:
    if kind not in (MediaKind.VIDEO, MediaKind.AUDIO):
        raise ValueError("only video and audio can be split")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Guarded:
    """How a source's URLs are requested, and what refuses it once it is read.

    `headers` go with every request (yt-dlp's `http_headers`, cookies); `url_check` is
    called on every URL before it is requested, redirect targets included (the
    private-network guard), raises to refuse it, and may name the guard proxy that carries
    the requests (`remote.http.ProxiedUrlCheck`). `duration_check` is called with the
    duration the source really has once it is opened, before any part is cut.
    """

    headers: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)
    url_check: UrlCheck | None = field(default=None, compare=False, repr=False)
    duration_check: DurationCheck | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class SplitSource(_Guarded):
    """What to cut: one muxed input, or a video-only input plus an audio-only input.

    Inputs are local paths or HTTP(S) URLs; `duration_s` is used when the container does
    not state one. `kind` decides the output container: MP4 for video, M4A for audio.
    `duration_check` gets the duration the inputs really have (the longest they state).
    """

    inputs: tuple[str | Path, ...]
    kind: MediaKind
    duration_s: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.inputs) <= 2:
            raise ValueError("a split source has one muxed input or one video and one audio")
        _check_kind(self.kind)

    @property
    def is_stream(self) -> bool:
        """True when every input is read over the network rather than from disk."""
        return all(is_url(source) for source in self.inputs)


@dataclass(frozen=True, slots=True)
class SegmentedSource(_Guarded):
    """What to cut: one muxed track, or a video track then an audio track.

    `estimated_bytes` is what the formats announce, for counting parts before the
    fragments show their rate. `duration_check` gets the longer of the declared duration
    and the tracks' own (their fragments' durations summed).
    """

    tracks: tuple[FragmentTrack, ...]
    kind: MediaKind
    duration_s: float | None = None
    estimated_bytes: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.tracks) <= 2:
            raise ValueError("a segmented source has one muxed track or one video and one audio")
        _check_kind(self.kind)

    @property
    def is_stream(self) -> bool:
        """Always read over the network."""
        return True
