"""What a playlist link offers: its items (capped), their total length, the choices for all."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict

from mediabot.domain.enums import MediaKind, Provider

STATUS_EDIT_WINDOW_S = 5.0
"""How long an edit of a playlist's status message may take once allowed: it lands within
this or is dropped. The playlist's last word waits until the edits allowed before it
have landed, so that no count edited by another item's worker comes after it."""

PLAYLIST_HEIGHTS: tuple[int, ...] = (360, 480, 720, 1080)
"""The heights a playlist offers: each item comes at the best height up to the one chosen
(its lowest when it has none that low). A playlist's items are not probed one by one at
lookup time, so their own heights are not known then."""


class PlaylistEntry(BaseModel):
    """One item of a playlist, as the flat listing told it (no probe of the item itself)."""

    model_config = ConfigDict(frozen=True)

    url: str
    provider: Provider
    media_key: str
    """The key the item's delivery is cached under, as far as its link tells it."""
    title: str | None = None
    duration_s: float | None = None


class PlaylistOptions(BaseModel):
    """A playlist link's listing, cut to the first `max_items` usable entries.

    `total_count` is how many items the source says it has (None: it does not say);
    `skipped` counts the entries left out of the listing: nested playlists, entries
    without a link, and repeats of an item listed before (the same media, however linked).
    """

    model_config = ConfigDict(frozen=True)

    url: str
    title: str
    entries: tuple[PlaylistEntry, ...]
    total_count: int | None = None
    skipped: int = 0

    @property
    def duration_s(self) -> float | None:
        """The items' total length; None when no item tells its own."""
        known = [entry.duration_s for entry in self.entries if entry.duration_s is not None]
        return sum(known) if known else None

    @property
    def capped(self) -> bool:
        """Whether the source has items the limit left out: more than are offered and
        skipped together (a repeat left out is no item the limit cut)."""
        return self.total_count is not None and self.total_count > len(self.entries) + self.skipped


def may_carry_playlist(url: str) -> bool:
    """Whether a video link also names a playlist (`&list=`): worth a listing of its own."""
    try:
        return "list" in parse_qs(urlsplit(url.strip()).query)
    except ValueError:
        return False


def playlist_offers(kind: MediaKind, height: int | None) -> bool:
    """Whether this choice is one a playlist offers (a video height of the ladder, audio)."""
    if kind is MediaKind.VIDEO:
        return height in PLAYLIST_HEIGHTS
    return kind is MediaKind.AUDIO and height is None


def height_up_to(available: tuple[int, ...], cap: int) -> int | None:
    """The best of `available` heights up to `cap`; the lowest when none is that low."""
    if not available:
        return None
    fitting = [height for height in available if height <= cap]
    return max(fitting) if fitting else min(available)


class PlaylistTally(BaseModel):
    """Where a chosen playlist stands: its items by how they ended, and those still to come."""

    model_config = ConfigDict(frozen=True)

    total: int
    delivered: int = 0
    skipped: int = 0
    """Items that failed (private, removed, nested playlists, too long...)."""
    cancelled: int = 0

    @property
    def done(self) -> int:
        return self.delivered + self.skipped + self.cancelled

    @property
    def finished(self) -> bool:
        return self.done >= self.total
