"""A track's fragments as they are read: on disk, with their packets; and what to fetch next.

Pure bookkeeping, no I/O: which fragments a resumed delivery skips, the order fragments of
two tracks are fetched in, which fragment each packet belongs to, and the packets a part
may be planned from.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mediabot.media.fragments.playlist import Fragment
from mediabot.media.plan import with_stream_ids
from mediabot.media.probe import Packet

_RESUME_SPARE_S = 1.0
"""A resumed delivery fetches from a second before its start, by the nominal durations."""
_UNKNOWN_DURATION_S = 1.0
"""A fragment whose duration is not listed counts this long when fetches are ordered."""


@dataclass(slots=True)
class Piece:
    """A fragment on disk: its track, number, file, size and packets (stream ids remapped)."""

    track: int
    number: int
    path: Path
    size_bytes: int
    packets: list[Packet]

    @property
    def first_dts(self) -> float:
        return min((p.dts_s for p in self.packets), default=math.inf)

    @property
    def last_dts(self) -> float:
        return max((p.dts_s for p in self.packets), default=-math.inf)

    @property
    def first_pts(self) -> float:
        return min((p.pts_s for p in self.packets), default=math.inf)

    @property
    def last_pts(self) -> float:
        return max((p.pts_s for p in self.packets), default=-math.inf)


@dataclass(slots=True)
class Track:
    """A track as read: its fragments, its init on disk, the streams taken from it."""

    index: int
    init: Fragment | None
    fragments: tuple[Fragment, ...]
    init_path: Path | None = None
    streams: tuple[int, ...] = ()
    on_disk: list[Piece] = field(default_factory=list)
    """Fragments whose packets are known, in order."""
    arrived: list[Piece] = field(default_factory=list)
    """Fragments downloaded, their packets not read yet."""
    fetched_all: bool = False
    skip: int = 0
    """Leading fragments not fetched (a resumed delivery starts after them)."""
    largest: int = 0
    """The largest fragment fetched so far."""

    @property
    def nominal_s(self) -> float:
        """The track's length as its fragments' listed durations say (0 for unlisted)."""
        return sum(fragment.duration_s or 0.0 for fragment in self.fragments)


def fragments_before(fragments: Sequence[Fragment], wanted_s: float) -> int:
    """How many leading fragments end, by their listed durations, a second or more before
    `wanted_s` (from the track's start): a delivery resumed there need not fetch them.
    None are skipped when a duration is not listed."""
    if wanted_s <= 0 or any(fragment.duration_s is None for fragment in fragments):
        return 0
    ends = itertools.accumulate(fragment.duration_s or 0.0 for fragment in fragments)
    return sum(1 for end in ends if end <= wanted_s - _RESUME_SPARE_S)


def fetch_order(tracks: Sequence[Track]) -> list[tuple[float, int, int]]:
    """(nominal start, track, number) of every fragment still to fetch, in time order: the
    first fragment of each track is read when it is opened, and skipped ones never are."""
    order: list[tuple[float, int, int]] = []
    for track in tracks:
        fetched = {piece.number for piece in track.on_disk}
        starts = itertools.accumulate(
            (
                f.duration_s if f.duration_s is not None else _UNKNOWN_DURATION_S
                for f in track.fragments
            ),
            initial=0.0,
        )
        for number, nominal in zip(range(len(track.fragments)), starts, strict=False):
            if number >= max(track.skip, 1) and number not in fetched:
                order.append((nominal, track.index, number))
    return sorted(order)


def assign_packets(
    pieces: Sequence[Piece], packets: Sequence[Packet], *, init_bytes: int, position: int
) -> None:
    """Give each packet of one ffprobe run over `init` + `pieces` to the piece its byte
    position falls in (the last piece when it has none), its stream id made distinct for
    track `position` (`stream_id`)."""
    starts = list(
        itertools.accumulate((piece.size_bytes for piece in pieces[:-1]), initial=init_bytes)
    )
    for packet in with_stream_ids(packets, position):
        if packet.position is None:
            piece = pieces[-1]
        else:
            piece = pieces[max(0, bisect.bisect_right(starts, packet.position) - 1)]
        piece.packets.append(packet)


def window_packets(tracks: Sequence[Track], at_eof: bool) -> list[Packet]:
    """The packets on disk, up to the time every track has reached (a track behind the
    others would leave the last units short of its packets)."""
    horizon = math.inf
    if not at_eof:
        for track in tracks:
            if not track.fetched_all:
                reached = max((piece.last_pts for piece in track.on_disk), default=-math.inf)
                horizon = min(horizon, reached)
    return [
        packet
        for track in tracks
        for piece in track.on_disk
        for packet in piece.packets
        if packet.pts_s <= horizon
    ]
