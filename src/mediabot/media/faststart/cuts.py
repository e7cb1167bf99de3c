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
import struct
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
    under a part's real size; `part` lays out the next one exactly."""

    def __init__(self, tracks: Sequence[TrackIndex]) -> None:
        """`BoxError` when the tracks cannot be cut this way (a picture track that does not
        start on a sync sample, sound whose times go back)."""
        if not tracks or any(track.count == 0 for track in tracks):
            raise BoxError("a track without samples")
        self._tracks = tuple(tracks)
        self._duration_s = duration_s(self._tracks)
        earliest = min((track.start or 0) / track.timescale for track in self._tracks)
        self._times = [_presentation(track, earliest) for track in self._tracks]
        self._prefix = [list(itertools.accumulate(t.sizes, initial=0)) for t in self._tracks]
        for times in self._times[1:]:
            if any(later < earlier for earlier, later in itertools.pairwise(times)):
                raise BoxError("a track whose presentation times go back")
        lead = self._tracks[0]
        if lead.handler == VIDEO and not lead.sync[0]:
            raise BoxError("the picture does not start on a sync sample")
        samples = (i for i in range(lead.count) if lead.handler != VIDEO or lead.sync[i])
        self._cuts: list[int] = []
        """Sample numbers of the lead track where a part may start, their times rising."""
        self._cut_times: list[float] = []
        for sample in samples:
            time = self._times[0][sample]
            if not self._cuts or time > self._cut_times[-1]:
                self._cuts.append(sample)
                self._cut_times.append(time)
        self._bounds = [self._bounds_at(cut) for cut in range(len(self._cuts) + 1)]
        self._sample_bytes = [_table_bytes(track) for track in self._tracks]
        self._gaps = [list(itertools.accumulate(_gaps(track), initial=0)) for track in tracks]
        self._stss = lead.handler == VIDEO and not all(lead.sync)
        self._fixed_bytes = self._fixed()

    @property
    def duration_s(self) -> float:
        return self._duration_s

    def cut_at(self, start_s: float) -> int:
        """The cut point a part starting at `start_s` starts at: the first at or just
        before it (a resumed delivery's time, where the last part sent ended)."""
        return self._cut_at(start_s)

    def count(self, cut: int, limit_bytes: int) -> int:
        """How many parts of at most `limit_bytes` hold the source from `cut` on."""
        parts = 0
        while cut < len(self._cuts):
            cut = self._estimated_end(cut, limit_bytes)
            parts += 1
        return parts

    def part(self, cut: int, index: int, limit_bytes: int) -> PlannedPart:
        """Part `index`, from cut point `cut`, as large as fits `limit_bytes`. `SplitError`
        when the stretch between two cut points is over the limit on its own."""
        after, layout = self._fit(cut, limit_bytes)
        return PlannedPart(
            index,
            self._time_of(cut),
            self._time_of(after),
            layout,
            after,
            is_last=after == len(self._cuts),
        )

    def _cut_at(self, start_s: float) -> int:
        if start_s <= 0:
            return 0
        cut = bisect.bisect_left(self._cut_times, start_s - _RESUME_SLACK_S)
        return min(cut, len(self._cuts) - 1)

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
        total = self._fixed_bytes + (4 * (after - first) if self._stss else 0)
        for number in range(len(self._tracks)):
            low, high = self._bounds[first][number], self._bounds[after][number]
            prefix = self._prefix[number]
            data = prefix[high] - prefix[low]
            gaps = self._gaps[number][high] - self._gaps[number][low]
            chunks = gaps + _CHUNKS_PER_S * seconds + data / CHUNK_BYTES + 2
            total += data + (high - low) * self._sample_bytes[number]
            total += int(chunks * _CHUNK_ROW_BYTES)
        return total

    def _estimated_end(self, first: int, limit_bytes: int) -> int:
        """The end (a cut point, exclusive) of the largest part from `first` whose
        estimate is under the limit; at least one cut point further."""
        low, high = first + 1, len(self._cuts)
        while low < high:
            middle = (low + high + 1) // 2
            if self._estimate(first, middle) <= limit_bytes:
                low = middle
            else:
                high = middle - 1
        return low

    def _fit(self, first: int, limit_bytes: int) -> tuple[int, Layout]:
        """The end of the largest part from `first` under the limit, and its layout."""
        after = self._estimated_end(first, limit_bytes)
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
        for number, track in enumerate(self._tracks):
            low, high = self._bounds[first][number], self._bounds[after][number]
            if low < high:
                subsets.append(_subset(track, low, high, start, self._times[number][low]))
        return lay_out(subsets)


def _table_bytes(track: TrackIndex) -> int:
    """What one sample of `track` adds to its tables at most, chunks aside: its size
    (stsz), its composition offset (ctts) and duration (stts) when they vary."""
    varying = min(track.durations) != max(track.durations)
    return 4 + (8 if any(track.cts) else 0) + (8 if varying else 0)


def _gaps(track: TrackIndex) -> list[bool]:
    """For each sample, whether its bytes do not follow the previous sample's in the source
    (a chunk of the file starts there)."""
    offsets, sizes, resources = track.offsets, track.sizes, track.resources
    follows = zip(offsets[1:], offsets, sizes, resources[1:], resources, strict=False)
    return [False] + [a != b + size or r != q for a, b, size, r, q in follows]


def _presentation(track: TrackIndex, earliest_s: float) -> list[float]:
    """Each sample's presentation time in seconds, on the timeline the one file has."""
    empty_s, media_time = presentation_start(track)
    scale = track.timescale
    base = (track.start or 0) / scale - earliest_s + empty_s - media_time / scale
    decode = itertools.accumulate(track.durations, initial=0)
    return [base + (dts + cts) / scale for dts, cts in zip(decode, track.cts, strict=False)]


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
