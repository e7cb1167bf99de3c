"""Parts planned from indexes read ahead: cut points at keyframes, each part a file of its own.

A part runs from one cut point to the next one it keeps: a sync sample of the picture
track (for sound alone, any sample). Every other track's samples go to the part whose time
range holds their presentation time, so the parts tile the source: no sample twice, none
left out, their durations adding up to the source's. Each part is laid out like the one
file (`layout.lay_out`): its own `moov` first, written from its subset of the samples, with
an edit list that starts its presentation at the cut point. Parts are filled greedily up to
the byte limit, each one's exact size checked against its layout. No I/O here.
"""

from __future__ import annotations

import bisect
import itertools
import math
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from mediabot.media.faststart.boxes import Box, BoxError, child, make, make_full, need
from mediabot.media.faststart.layout import (
    CHUNK_BYTES,
    MOVIE_TIMESCALE,
    Layout,
    duration_s,
    lay_out,
    presentation_start,
)
from mediabot.media.faststart.samples import VIDEO, TrackIndex
from mediabot.media.parts import SplitError

_CHUNK_ROW_BYTES = 20
"""What a chunk can add to the tables: its offset (stco, co64) and a row of stsc."""
_CHUNKS_PER_S = 1
"""Chunks a track needs per second of media besides those its source's gaps start: a
chunk ends at a gap, at a second (`layout`) or at `CHUNK_BYTES`."""
_RESUME_SLACK_S = 0.05
"""A resumed delivery starts at the first cut point no more than this before its time."""


@dataclass(frozen=True, slots=True)
class PlannedPart:
    """One part: its index, its time range in the source, its file's layout, and the cut
    point the next part starts at (`after`)."""

    index: int
    start_s: float
    end_s: float
    layout: Layout
    after: int
    is_last: bool


class PartPlanner:
    """Plans the parts of `tracks` (the picture first, when there is one), one at a time:
    `count` tells how many parts are left from a cut point, by estimates that are never
    under a part's real size; `part` lays out the next one exactly.

    Tracks still being read (`TrackIndex.complete` False) are planned from the samples read
    so far: `grow` takes in the ones added since, and `part` and `cut_at` answer None until
    enough are in to decide as they would with every sample known. A growing track's tables
    are estimated at their largest (not from what its samples hold), so a part planned
    early is the part planned late, and `count` (which needs every sample) matches them.
    """

    def __init__(self, tracks: Sequence[TrackIndex]) -> None:
        """`BoxError` when the tracks cannot be cut this way (a picture track that does not
        start on a sync sample, sound whose times go back); `grow` raises it too."""
        if not tracks or any(track.count == 0 for track in tracks):
            raise BoxError("a track without samples")
        self._tracks = tuple(tracks)
        self._growing = any(track.growing for track in self._tracks)
        lead = self._tracks[0]
        if lead.handler == VIDEO and not lead.sync[0]:
            raise BoxError("the picture does not start on a sync sample")
        self._earliest = min((track.start or 0) / track.timescale for track in self._tracks)
        self._bases = [_presentation_base(track, self._earliest) for track in self._tracks]
        self._seen = [0] * len(self._tracks)
        self._decode = [0] * len(self._tracks)
        # compact columns: a three-hour source has ~700 000 samples
        self._times = [array("d") for _ in self._tracks]
        self._prefix = [array("q", [0]) for _ in self._tracks]
        self._gaps = [array("q", [0]) for _ in self._tracks]
        self._cuts = array("q")
        """Sample numbers of the lead track where a part may start, their times rising."""
        self._cut_times = array("d")
        self._complete = False
        self._duration_s = 0.0
        self._sample_bytes = [_table_bytes(track, self._growing) for track in self._tracks]
        self._stss = lead.handler == VIDEO and (self._growing or not all(lead.sync))
        self._fixed_bytes = self._fixed()
        self.grow()

    @property
    def duration_s(self) -> float:
        """The source's duration; 0 until every sample is in."""
        return self._duration_s

    @property
    def samples(self) -> int:
        """Samples taken in so far, all tracks together."""
        return sum(self._seen)

    def grow(self) -> None:
        """Take in the samples added to the tracks since the last call."""
        for number, track in enumerate(self._tracks):
            self._take(number, track)
        if not self._complete and all(track.complete for track in self._tracks):
            # every sample was taken in above: nothing is added to a complete track
            self._complete = True
            self._duration_s = duration_s(self._tracks)

    def cut_at(self, start_s: float) -> int | None:
        """The cut point a part starting at `start_s` starts at: the first at or just
        before it (a resumed delivery's time, where the last part sent ended); None until
        the samples read tell it."""
        if start_s <= 0:
            return 0
        cut = bisect.bisect_left(self._cut_times, start_s - _RESUME_SLACK_S)
        if cut == len(self._cuts) and not self._complete:
            return None
        return min(cut, len(self._cuts) - 1)

    def count(self, cut: int, limit_bytes: int) -> int:
        """How many parts of at most `limit_bytes` hold the source from `cut` on; every
        sample must be in."""
        if not self._complete:
            raise RuntimeError("parts counted before every sample is in")
        parts = 0
        while cut < len(self._cuts):
            cut = self._estimated_end(cut, limit_bytes, len(self._cuts))
            parts += 1
        return parts

    def part(self, cut: int, index: int, limit_bytes: int) -> PlannedPart | None:
        """Part `index`, from cut point `cut`, as large as fits `limit_bytes`; None until
        the samples read decide where it ends. `SplitError` when the stretch between two
        cut points is over the limit on its own."""
        known = self._known_end()
        if known <= cut or (not self._complete and self._estimate(cut, known) <= limit_bytes):
            return None  # the part may reach past the samples read
        after, layout = self._fit(cut, limit_bytes, known)
        return PlannedPart(
            index,
            self._time_of(cut),
            self._time_of(after),
            layout,
            after,
            is_last=after == len(self._cuts) and self._complete,
        )

    def _take(self, number: int, track: TrackIndex) -> None:
        """Extend track `number`'s columns (and the lead's cut points) to its samples."""
        low, high = self._seen[number], track.count
        if low == high:
            return
        scale, base = track.timescale, self._bases[number]
        decode = self._decode[number]
        times = self._times[number]
        previous = times[-1] if times else None
        for duration, cts in zip(track.durations[low:high], track.cts[low:high], strict=True):
            time = base + (decode + cts) / scale
            if number and previous is not None and time < previous:
                raise BoxError("a track whose presentation times go back")
            times.append(time)
            previous = time
            decode += duration
        self._decode[number] = decode
        self._prefix[number].extend(
            itertools.accumulate(track.sizes[low:high], initial=self._prefix[number][-1])
        )
        del self._prefix[number][low]  # the initial value, already there
        self._gaps[number].extend(
            itertools.accumulate(_gaps(track, low, high), initial=self._gaps[number][-1])
        )
        del self._gaps[number][low]
        if number == 0:
            for sample in range(low, high):
                if track.handler == VIDEO and not track.sync[sample]:
                    continue
                time = times[sample]
                if not self._cuts or time > self._cut_times[-1]:
                    self._cuts.append(sample)
                    self._cut_times.append(time)
        self._seen[number] = high

    def _known_end(self) -> int:
        """The last cut point a part may end at with the samples read: every track's
        samples before it are in (the end of the source once all are)."""
        if self._complete:
            return len(self._cuts)
        # a cut point's bounds in another track are known once a sample shows at or after it
        horizon = min(
            (
                self._times[number][-1]
                for number in range(1, len(self._tracks))
                if not self._tracks[number].complete
            ),
            default=math.inf,
        )
        return max(0, min(len(self._cuts), bisect.bisect_right(self._cut_times, horizon)) - 1)

    def _time_of(self, cut: int) -> float:
        """When the part starting at `cut` starts (the first at 0, the end at the
        source's duration)."""
        if cut == 0:
            return 0.0
        if cut == len(self._cuts):
            return self._duration_s
        return self._cut_times[cut]

    def _bounds_at(self, cut: int) -> tuple[int, ...]:
        """The first sample of each track in the part starting at `cut`."""
        if cut == 0:
            return (0,) * len(self._tracks)
        if cut == len(self._cuts):
            return tuple(track.count for track in self._tracks)
        time = self._cut_times[cut]
        others = (bisect.bisect_left(times, time) for times in self._times[1:])
        return (self._cuts[cut], *others)

    def _fixed(self) -> int:
        """The bytes of a file besides its samples' data and tables: laid out from one
        sample of each track, less that sample's share."""
        layout = lay_out([_subset(track, 0, 1, 0.0, 0.0) for track in self._tracks])
        return layout.size - sum(
            track.sizes[0] + self._sample_bytes[n] + _CHUNK_ROW_BYTES
            for n, track in enumerate(self._tracks)
        )

    def _estimate(self, first: int, after: int) -> int:
        """The bytes of the file of the cut points from `first` to `after`: exact for the
        samples' data, an upper bound for their tables (unless a track is cut into more
        than a chunk a second besides its source's gaps), so a part is seldom larger."""
        seconds = self._time_of(after) - self._time_of(first)
        bounds_first, bounds_after = self._bounds_at(first), self._bounds_at(after)
        total = self._fixed_bytes + (4 * (after - first) if self._stss else 0)
        for number in range(len(self._tracks)):
            low, high = bounds_first[number], bounds_after[number]
            prefix = self._prefix[number]
            data = prefix[high] - prefix[low]
            gaps = self._gaps[number][high] - self._gaps[number][low]
            chunks = gaps + _CHUNKS_PER_S * seconds + data / CHUNK_BYTES + 2
            total += data + (high - low) * self._sample_bytes[number]
            total += int(chunks * _CHUNK_ROW_BYTES)
        return total

    def _estimated_end(self, first: int, limit_bytes: int, last: int) -> int:
        """The end (a cut point, exclusive, `last` at most) of the largest part from
        `first` whose estimate is under the limit; at least one cut point further."""
        low, high = first + 1, last
        while low < high:
            middle = (low + high + 1) // 2
            if self._estimate(first, middle) <= limit_bytes:
                low = middle
            else:
                high = middle - 1
        return low

    def _fit(self, first: int, limit_bytes: int, last: int) -> tuple[int, Layout]:
        """The end (`last` at most) of the largest part from `first` under the limit, and
        its layout."""
        after = self._estimated_end(first, limit_bytes, last)
        while True:
            layout = self.layout(first, after)
            if layout.size <= limit_bytes:
                return after, layout
            if after == first + 1:
                raise SplitError(
                    f"{layout.size} bytes between two cut points, over the {limit_bytes} limit"
                )
            # an estimate short by this much is short by about as much per cut point
            over = layout.size - limit_bytes
            average = max(1, layout.size // (after - first))
            after = max(first + 1, after - max(1, -(-over // average)))

    def layout(self, first: int, after: int) -> Layout:
        """The file of the part from cut point `first` to cut point `after` (exclusive)."""
        start = self._time_of(first)
        subsets = []
        bounds_first, bounds_after = self._bounds_at(first), self._bounds_at(after)
        for number, track in enumerate(self._tracks):
            low, high = bounds_first[number], bounds_after[number]
            if low < high:
                subsets.append(_subset(track, low, high, start, self._times[number][low]))
        return lay_out(subsets)


def _table_bytes(track: TrackIndex, growing: bool) -> int:
    """What one sample of `track` adds to its tables at most, chunks aside: its size
    (stsz), its composition offset (ctts) and duration (stts) when they vary (a growing
    track's samples may: both are counted)."""
    if growing:
        return 20
    varying = min(track.durations) != max(track.durations)
    return 4 + (8 if any(track.cts) else 0) + (8 if varying else 0)


def _gaps(track: TrackIndex, low: int, high: int) -> list[bool]:
    """For samples `low` to `high`, whether their bytes do not follow the previous
    sample's in the source (a chunk of the file starts there)."""
    first = max(low - 1, 0)
    offsets, sizes = track.offsets[first:high], track.sizes[first:high]
    resources = track.resources[first:high]
    follows = zip(offsets[1:], offsets, sizes, resources[1:], resources, strict=False)
    found = [a != b + size or r != q for a, b, size, r, q in follows]
    return found if low else [False, *found]


def _presentation_base(track: TrackIndex, earliest_s: float) -> float:
    """Seconds to add to a sample's (decode + composition) time over its timescale for
    its presentation time on the timeline the one file has."""
    empty_s, media_time = presentation_start(track)
    scale = track.timescale
    return (track.start or 0) / scale - earliest_s + empty_s - media_time / scale


def _subset(track: TrackIndex, low: int, high: int, start_s: float, first_s: float) -> TrackIndex:
    """Samples `low` to `high` of `track` as a track of their own whose presentation
    starts at `start_s` of the source: a sample that shows later starts after an empty
    edit (its `start` is the lead), one that shows earlier (sound's priming, in the first
    part) is skipped by its edit."""
    scale = track.timescale
    first_cts = track.cts[low]
    if first_s >= start_s:
        lead = round((first_s - start_s) * scale)
        media_time = first_cts
    else:
        lead = 0
        media_time = first_cts + round((start_s - first_s) * scale)
    durations = track.durations[low:high]
    shown = max(0, sum(durations) - (media_time - first_cts))
    edit_ms = round(shown * MOVIE_TIMESCALE / scale)
    return TrackIndex(
        trak=_with_edit(track.trak, edit_ms, media_time),
        track_id=track.track_id,
        handler=track.handler,
        timescale=scale,
        movie_timescale=MOVIE_TIMESCALE,
        defaults=track.defaults,
        start=lead,
        sizes=track.sizes[low:high],
        durations=durations,
        cts=track.cts[low:high],
        sync=track.sync[low:high],
        offsets=track.offsets[low:high],
        resources=track.resources[low:high],
    )


def _with_edit(trak: bytes, duration_ms: int, media_time: int) -> bytes:
    """`trak` with its edit list replaced by one edit: `duration_ms` from `media_time`."""
    box = Box(b"trak", 0, 8, len(trak))
    tkhd = need(child(trak, box, b"tkhd"), "tkhd")
    mdia = need(child(trak, box, b"mdia"), "mdia")
    row = struct.pack(">IQqI", 1, duration_ms, media_time, 0x10000)
    edts = make(b"edts", make_full(b"elst", 1, 0, row))
    return make(b"trak", trak[tkhd.start : tkhd.end], edts, trak[mdia.start : mdia.end])
