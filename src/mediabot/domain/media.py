"""Typed facts about media: what a link offers, and what a download produced."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mediabot.domain.enums import DownloadPhase, MediaKind, Provider

TITLE_MAX_CHARS = 512
"""Longest title kept for a request (longer ones are cut before they are stored)."""


@dataclass(frozen=True, slots=True)
class Resolution:
    """One video height a source offers, with the estimated size of that download."""

    height: int
    estimated_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class MediaOptions:
    """What a link offers, known before any downloader instance exists.

    `resolutions` is sorted by height, lowest first, and empty for sources without video
    (an audio track, a photo post). `has_audio` says whether "audio only" makes sense;
    `photo_count` is non-zero for photo posts and carousels.
    """

    url: str
    provider: Provider
    media_key: str
    title: str
    duration_s: float | None = None
    uploader: str | None = None
    resolutions: tuple[Resolution, ...] = ()
    has_audio: bool = True
    audio_estimated_bytes: int | None = None
    photo_count: int = 0
    is_collection: bool = False
    found: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """What the lookup found (`downloaders.found`), for a press that follows it soon."""
    has_subtitles: bool = False
    """The source has subtitles or recognised speech that can be sent as SRT."""

    @property
    def heights(self) -> tuple[int, ...]:
        return tuple(resolution.height for resolution in self.resolutions)


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One file a download left on disk."""

    path: Path
    kind: MediaKind
    size_bytes: int
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    thumbnail: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaFacts:
    """What a probed link's media is, as a download's result and a stream plan both tell it:
    where it comes from, the key it is recorded under, its title and picture."""

    provider: Provider
    media_key: str
    source_url: str
    title: str
    uploader: str | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    thumbnail: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DownloadResult(MediaFacts):
    """Everything a download produced: files in order, and the facts about them."""

    items: tuple[MediaItem, ...]
    kind: MediaKind

    @property
    def size_bytes(self) -> int:
        return sum(item.size_bytes for item in self.items)


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """A progress report: phase, bytes so far, total if known, speed and ETA if known."""

    phase: DownloadPhase
    downloaded_bytes: int = 0
    total_bytes: int | None = None
    speed_bps: float | None = None
    eta_s: float | None = None

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(1.0, self.downloaded_bytes / self.total_bytes)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a running request stands, as a person reads it: a download's whole percent,
    the number of parts an upload has in all (each None until known)."""

    percent: int | None = None
    parts_total: int | None = None


ProgressCallback = Callable[[DownloadProgress], None]
"""Called from the download's worker thread; it must be quick and thread-safe."""
