"""Every sample of a track, read from a progressive `moov` or from fragments' `moof`s.

A track keeps its samples in flat arrays (a three-hour video has ~300 000): size, duration
and composition offset in the track's timescale, whether it is a sync sample, and where
its bytes are (a resource number, given by the reader, and the byte offset in it). Only
one sample description is allowed, and the track's `trak` box is kept as the template the
final `moov` is written from.
"""

from __future__ import annotations

import itertools
import struct
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from mediabot.media.faststart.boxes import Box, BoxError, child, children, full_header, need, path

VIDEO = b"vide"
SOUND = b"soun"
_PLAYABLE = {VIDEO: (b"avc1", b"avc3"), SOUND: (b"mp4a",)}
"""Sample entries Telegram plays as they are: H.264 video, AAC (MPEG-4) sound."""
_NON_SYNC = 0x00010000


@dataclass(frozen=True, slots=True)
class TrackDefaults:
    """A fragmented track's `trex` defaults for what a fragment leaves out."""

    duration: int = 0
    size: int = 0
    flags: int = 0


@dataclass(slots=True)
class TrackIndex:
    """One track's description and samples; `start` is its first decode time (a
    fragmented track's first `tfdt`), in `timescale` units. A `growing` track (fragments
    read one request each: segmented DASH, HLS fMP4) may be handed over before its last
    samples are read; `complete` turns True once they all are."""

    trak: bytes
    track_id: int
    handler: bytes
    timescale: int
    movie_timescale: int
    defaults: TrackDefaults = TrackDefaults()
    start: int | None = None
    sizes: array[int] = field(default_factory=lambda: array("Q"))
    durations: array[int] = field(default_factory=lambda: array("Q"))
    cts: array[int] = field(default_factory=lambda: array("q"))
    sync: bytearray = field(default_factory=bytearray)
    offsets: array[int] = field(default_factory=lambda: array("Q"))
    resources: array[int] = field(default_factory=lambda: array("L"))
    growing: bool = False
    complete: bool = True

    @property
    def count(self) -> int:
        return len(self.sizes)

    @property
    def media_duration(self) -> int:
        return sum(self.durations)

    @property
    def data_bytes(self) -> int:
        return sum(self.sizes)

    def extend(
        self,
        sizes: Sequence[int],
        durations: Sequence[int],
        cts: Sequence[int],
        sync: bytes,
        offsets: Sequence[int],
        resource: int,
    ) -> None:
        """Add samples listed column by column, all of one resource."""
        self.sizes.extend(sizes)
        self.durations.extend(durations)
        self.cts.extend(cts)
        self.sync.extend(b"\x01" * len(sync) if self.handler == SOUND else sync)
        self.offsets.extend(offsets)
        self.resources.extend(array("L", [resource]) * len(sizes))


def movie_timescale(moov: bytes, moov_box: Box) -> int:
    """The timescale of the movie header in `moov`."""
    mvhd = need(child(moov, moov_box, b"mvhd"), "mvhd")
    version, _ = full_header(moov, mvhd)
    return int(struct.unpack_from(">I", moov, mvhd.body_start + (20 if version == 1 else 12))[0])


def tracks_of(moov: bytes, moov_box: Box) -> list[TrackIndex]:
    """The video and sound tracks of a `moov` (others are left out), without samples;
    `BoxError` when a kept track has a sample entry Telegram would not play as it is, or
    more than one."""
    scale = movie_timescale(moov, moov_box)
    defaults: dict[int, TrackDefaults] = {}
    mvex = child(moov, moov_box, b"mvex")
    if mvex is not None:
        for trex in children(moov, mvex.body_start, mvex.end):
            if trex.kind == b"trex":
                track_id, _, duration, size, flags = struct.unpack_from(
                    ">5I", moov, trex.body_start + 4
                )
                defaults[track_id] = TrackDefaults(duration, size, flags)
    found: list[TrackIndex] = []
    for trak in children(moov, moov_box.body_start, moov_box.end):
        if trak.kind != b"trak":
            continue
        tkhd = need(child(moov, trak, b"tkhd"), "tkhd")
        version, _ = full_header(moov, tkhd)
        track_id = int(
            struct.unpack_from(">I", moov, tkhd.body_start + (20 if version == 1 else 12))[0]
        )
        mdhd = need(path(moov, trak, b"mdia", b"mdhd"), "mdhd")
        version, _ = full_header(moov, mdhd)
        timescale = int(
            struct.unpack_from(">I", moov, mdhd.body_start + (20 if version == 1 else 12))[0]
        )
        hdlr = need(path(moov, trak, b"mdia", b"hdlr"), "hdlr")
        handler = bytes(moov[hdlr.body_start + 8 : hdlr.body_start + 12])
        if handler not in _PLAYABLE:
            continue
        stsd = need(path(moov, trak, b"mdia", b"minf", b"stbl", b"stsd"), "stsd")
        (entries,) = struct.unpack_from(">I", moov, stsd.body_start + 4)
        entry = next(children(moov, stsd.body_start + 8, stsd.end), None)
        if entries != 1 or entry is None or entry.kind not in _PLAYABLE[handler]:
            raise BoxError(f"track {track_id} is not one H.264 or AAC sample entry")
        if timescale <= 0:
            raise BoxError(f"track {track_id} has no timescale")
        found.append(
            TrackIndex(
                trak=bytes(moov[trak.start : trak.end]),
                track_id=track_id,
                handler=handler,
                timescale=timescale,
                movie_timescale=scale,
                defaults=defaults.get(track_id, TrackDefaults()),
            )
        )
    return found


def read_sample_table(track: TrackIndex, resource: int) -> None:
    """Fill `track` with the samples its own `stbl` lists (a progressive file)."""
    data = track.trak
    trak = Box(b"trak", 0, 8, len(data))
    stbl = need(path(data, trak, b"mdia", b"minf", b"stbl"), "stbl")
    tables = {box.kind: box for box in children(data, stbl.body_start, stbl.end)}
    sizes = _sizes(data, need(tables.get(b"stsz"), "stsz"))
    durations = _runs(data, need(tables.get(b"stts"), "stts"), signed=False)
    if len(durations) != len(sizes):
        raise BoxError("stts and stsz disagree on the sample count")
    ctts = tables.get(b"ctts")
    offsets_cts = _runs(data, ctts, signed=True) if ctts is not None else [0] * len(sizes)
    if len(offsets_cts) != len(sizes):
        raise BoxError("ctts and stsz disagree on the sample count")
    stss = tables.get(b"stss")
    sync = [stss is None] * len(sizes)
    if stss is not None:
        (count,) = struct.unpack_from(">I", data, stss.body_start + 4)
        for number in struct.unpack_from(f">{count}I", data, stss.body_start + 8):
            if 1 <= number <= len(sizes):
                sync[number - 1] = True
    chunk_offsets = _chunk_offsets(data, tables)
    positions = _sample_offsets(data, need(tables.get(b"stsc"), "stsc"), chunk_offsets, sizes)
    # whole tables at once: per-sample appends cost seconds on a three-hour file
    track.extend(sizes, durations, offsets_cts, bytes(sync), positions, resource)
    track.start = 0


def _sizes(data: bytes, stsz: Box) -> list[int]:
    constant, count = struct.unpack_from(">II", data, stsz.body_start + 4)
    if constant:
        return [constant] * count
    return list(struct.unpack_from(f">{count}I", data, stsz.body_start + 12))


def _runs(data: bytes, box: Box, *, signed: bool) -> list[int]:
    (count,) = struct.unpack_from(">I", data, box.body_start + 4)
    pairs = struct.unpack_from(">" + ("Ii" if signed else "II") * count, data, box.body_start + 8)
    values: list[int] = []
    for i in range(0, len(pairs), 2):
        values.extend([pairs[i + 1]] * pairs[i])
    return values


def _chunk_offsets(data: bytes, tables: dict[bytes, Box]) -> tuple[int, ...]:
    box = tables.get(b"stco") or tables.get(b"co64")
    box = need(box, "stco")
    (count,) = struct.unpack_from(">I", data, box.body_start + 4)
    form = "I" if box.kind == b"stco" else "Q"
    return struct.unpack_from(f">{count}{form}", data, box.body_start + 8)


def _sample_offsets(
    data: bytes, stsc: Box, chunk_offsets: tuple[int, ...], sizes: list[int]
) -> list[int]:
    (count,) = struct.unpack_from(">I", data, stsc.body_start + 4)
    entries = [struct.unpack_from(">3I", data, stsc.body_start + 8 + 12 * i) for i in range(count)]
    if any(description != 1 for _, _, description in entries):
        raise BoxError("a chunk refers to another sample description")
    positions: list[int] = []
    sample = 0
    for i, (first, per_chunk, _) in enumerate(entries):
        last = entries[i + 1][0] - 1 if i + 1 < len(entries) else len(chunk_offsets)
        for chunk in range(first - 1, last):
            offset = chunk_offsets[chunk]
            for _ in range(per_chunk):
                if sample >= len(sizes):
                    break
                positions.append(offset)
                offset += sizes[sample]
                sample += 1
    if len(positions) != len(sizes):
        raise BoxError("the chunks do not hold every sample")
    return positions


def read_fragment(moof: bytes, moof_at: int, tracks: dict[int, TrackIndex], resource: int) -> int:
    """Add the samples one `moof` (the whole box in `moof`, found at byte `moof_at` of its
    resource) lists to `tracks` (by track id; others are skipped). Returns the end of the
    sample data it refers to, in the resource."""
    box = Box(b"moof", 0, 8, len(moof))
    data_end = moof_at + len(moof)
    previous_end = moof_at
    for traf in children(moof, box.body_start, box.end):
        if traf.kind != b"traf":
            continue
        tfhd = need(child(moof, traf, b"tfhd"), "tfhd")
        _, flags = full_header(moof, tfhd)
        (track_id,) = struct.unpack_from(">I", moof, tfhd.body_start + 4)
        track = tracks.get(track_id)
        at = tfhd.body_start + 8
        base = previous_end if previous_end != moof_at and not flags & 0x020000 else moof_at
        if flags & 0x01:
            (base,) = struct.unpack_from(">Q", moof, at)
            at += 8
        if flags & 0x02:
            (description,) = struct.unpack_from(">I", moof, at)
            if description != 1:
                raise BoxError("a fragment refers to another sample description")
            at += 4
        defaults = track.defaults if track is not None else TrackDefaults()
        duration = size = sample_flags = None
        if flags & 0x08:
            (duration,) = struct.unpack_from(">I", moof, at)
            at += 4
        if flags & 0x10:
            (size,) = struct.unpack_from(">I", moof, at)
            at += 4
        if flags & 0x20:
            (sample_flags,) = struct.unpack_from(">I", moof, at)
        default = TrackDefaults(
            defaults.duration if duration is None else duration,
            defaults.size if size is None else size,
            defaults.flags if sample_flags is None else sample_flags,
        )
        tfdt = child(moof, traf, b"tfdt")
        if track is not None and track.start is None:
            track.start = _decode_time(moof, tfdt) if tfdt is not None else 0
        cursor = base
        for trun in children(moof, traf.body_start, traf.end):
            if trun.kind == b"trun":
                cursor = _read_run(moof, trun, track, default, base, cursor, resource)
        previous_end = cursor
        data_end = max(data_end, cursor)
    return data_end


def _decode_time(moof: bytes, tfdt: Box) -> int:
    version, _ = full_header(moof, tfdt)
    form = ">Q" if version == 1 else ">I"
    return int(struct.unpack_from(form, moof, tfdt.body_start + 4)[0])


def _read_run(
    moof: bytes,
    trun: Box,
    track: TrackIndex | None,
    default: TrackDefaults,
    base: int,
    cursor: int,
    resource: int,
) -> int:
    version, flags = full_header(moof, trun)
    (count,) = struct.unpack_from(">I", moof, trun.body_start + 4)
    at = trun.body_start + 8
    if flags & 0x01:
        (data_offset,) = struct.unpack_from(">i", moof, at)
        cursor = base + data_offset
        at += 4
    first_flags = None
    if flags & 0x04:
        (first_flags,) = struct.unpack_from(">I", moof, at)
        at += 4
    fields = [(0x100, "I"), (0x200, "I"), (0x400, "I"), (0x800, "i" if version else "I")]
    present = [(bit, form) for bit, form in fields if flags & bit]
    width = len(present)
    row = struct.calcsize(">" + "".join(form for _, form in present))
    if at + row * count > trun.end:
        raise BoxError("a trun lists more samples than it holds")
    # every row at once, then each field's column: a fragment lists hundreds of samples
    values = struct.unpack_from(">" + "".join(form for _, form in present) * count, moof, at)
    columns = {bit: values[n::width] for n, (bit, _) in enumerate(present)}
    durations = columns.get(0x100) or (default.duration,) * count
    sizes = columns.get(0x200) or (default.size,) * count
    sample_flags = list(columns.get(0x400) or (default.flags,) * count)
    cts = columns.get(0x800) or (0,) * count
    if count and first_flags is not None:
        sample_flags[0] = first_flags
    if version == 0 and any(value >= 0x80000000 for value in cts):
        # written unsigned, meant signed (as players read it)
        cts = tuple(value - 0x100000000 if value >= 0x80000000 else value for value in cts)
    offsets = list(itertools.accumulate(sizes, initial=cursor))
    if track is not None:
        sync = bytes(0 if value & _NON_SYNC else 1 for value in sample_flags)
        track.extend(sizes, durations, cts, sync, offsets[:-1], resource)
    cursor = offsets[-1]
    return cursor
