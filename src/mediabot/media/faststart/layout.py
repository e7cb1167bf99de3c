"""The final file from its tracks' indexes: `ftyp`, `moov` and the `mdat` header first,
then the samples in an order decided here, with the exact size known before any sample.

Samples go into chunks of one track, contiguous in their source and at most
`_CHUNK_SECONDS` long; chunks of all tracks are interleaved by their start time, so a player
reading the file in order gets picture and sound together. Each chunk is one `Piece`: which
bytes of which resource land where in the output.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from mediabot.media.faststart.boxes import (
    Box,
    BoxError,
    child,
    children,
    full_header,
    make,
    make_full,
    need,
    path,
)
from mediabot.media.faststart.samples import SOUND, VIDEO, TrackIndex

MOVIE_TIMESCALE = 1000
_CHUNK_SECONDS = 1.0
CHUNK_BYTES = 2 * 1024 * 1024
_U32 = 0xFFFFFFFF
_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


@dataclass(frozen=True, slots=True)
class Piece:
    """`length` bytes at `offset` of resource `resource`, written at `out_offset`."""

    resource: int
    offset: int
    length: int
    out_offset: int


@dataclass(frozen=True, slots=True)
class Layout:
    """The output: `head` (everything before the first sample), then `pieces` in output
    order, tiling the rest of the `size` bytes exactly."""

    head: bytes
    pieces: tuple[Piece, ...]
    size: int
    duration_s: float
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class _Chunk:
    track: int
    first: int
    count: int
    start_s: float
    resource: int
    offset: int
    length: int


def lay_out(tracks: Sequence[TrackIndex]) -> Layout:
    """The file holding `tracks` (a video first when there is one); `BoxError` when a track
    is empty or its boxes cannot be rewritten."""
    if not tracks or any(track.count == 0 for track in tracks):
        raise BoxError("a track without samples")
    ordered = sorted(tracks, key=lambda track: track.handler != VIDEO)
    chunks = sorted(
        (chunk for number, track in enumerate(ordered) for chunk in _chunks(number, track)),
        key=lambda chunk: (chunk.start_s, chunk.track),
    )
    data_bytes = sum(chunk.length for chunk in chunks)
    ftyp = _ftyp(any(track.handler == VIDEO for track in ordered))
    mdat_header = 8 if data_bytes + 8 <= _U32 else 16
    wide = False
    moov = _moov(ordered, chunks, 0, wide)
    if len(ftyp) + len(moov) + mdat_header + data_bytes > _U32:
        wide = True
        moov = _moov(ordered, chunks, 0, wide)
    first = len(ftyp) + len(moov) + mdat_header
    moov = _moov(ordered, chunks, first, wide)
    if mdat_header == 8:
        mdat = struct.pack(">I4s", data_bytes + 8, b"mdat")
    else:
        mdat = struct.pack(">I4sQ", 1, b"mdat", data_bytes + 16)
    pieces: list[Piece] = []
    at = first
    for chunk in chunks:
        last = pieces[-1] if pieces else None
        if (
            last is not None
            and last.resource == chunk.resource
            and last.offset + last.length == chunk.offset
        ):
            pieces[-1] = Piece(
                last.resource, last.offset, last.length + chunk.length, last.out_offset
            )
        else:
            pieces.append(Piece(chunk.resource, chunk.offset, chunk.length, at))
        at += chunk.length
    width, height = frame_size(ordered[0])
    return Layout(ftyp + moov + mdat, tuple(pieces), at, duration_s(ordered), width, height)


def duration_s(tracks: Sequence[TrackIndex]) -> float:
    """How long the file holding `tracks` lasts, as its `mvhd` states it, in seconds."""
    duration = max(_track_duration(track, _lead(track, tracks)) for track in tracks)
    return duration / MOVIE_TIMESCALE


def frame_size(track: TrackIndex) -> tuple[int | None, int | None]:
    """A picture track's width and height as its header states them (16.16 fixed point)."""
    if track.handler != VIDEO:
        return None, None
    tkhd = need(child(track.trak, Box(b"trak", 0, 8, len(track.trak)), b"tkhd"), "tkhd")
    width, height = struct.unpack_from(">II", track.trak, tkhd.end - 8)
    return (width >> 16) or None, (height >> 16) or None


def _chunks(number: int, track: TrackIndex) -> list[_Chunk]:
    """The track's samples grouped: contiguous in one resource, under the chunk limits."""
    found: list[_Chunk] = []
    limit = int(_CHUNK_SECONDS * track.timescale)
    sizes, offsets, resources, durations = (
        track.sizes,
        track.offsets,
        track.resources,
        track.durations,
    )
    time = track.start or 0
    first, span = 0, durations[0]
    count = track.count
    for i in range(1, count + 1):
        if (
            i < count
            and resources[i] == resources[first]
            and offsets[i] == offsets[i - 1] + sizes[i - 1]
            and span < limit
            and offsets[i] + sizes[i] - offsets[first] <= CHUNK_BYTES
        ):
            span += durations[i]
            continue
        length = offsets[i - 1] + sizes[i - 1] - offsets[first]
        start_s = time / track.timescale
        found.append(
            _Chunk(number, first, i - first, start_s, resources[first], offsets[first], length)
        )
        time += span
        if i < count:
            first, span = i, durations[i]
    return found


def _ftyp(video: bool) -> bytes:
    if video:
        return make(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    return make(b"ftyp", b"M4A ", struct.pack(">I", 512), b"M4A isomiso2mp41")


def _lead(track: TrackIndex, tracks: Sequence[TrackIndex]) -> int:
    """How long `track` starts after the earliest track, in movie units."""
    earliest = min((other.start or 0) / other.timescale for other in tracks)
    return round(((track.start or 0) / track.timescale - earliest) * MOVIE_TIMESCALE)


def _moov(tracks: Sequence[TrackIndex], chunks: Sequence[_Chunk], first: int, wide: bool) -> bytes:
    offsets: list[list[int]] = [[] for _ in tracks]
    counts: list[list[int]] = [[] for _ in tracks]
    at = first
    for chunk in chunks:
        offsets[chunk.track].append(at)
        counts[chunk.track].append(chunk.count)
        at += chunk.length
    traks = [
        _trak(track, number + 1, _lead(track, tracks), offsets[number], counts[number], wide)
        for number, track in enumerate(tracks)
    ]
    duration = max(_track_duration(track, _lead(track, tracks)) for track in tracks)
    return make(b"moov", _mvhd(duration, len(tracks) + 1), *traks)


def _mvhd(duration: int, next_track: int) -> bytes:
    if duration > _U32:
        times = struct.pack(">QQIQ", 0, 0, MOVIE_TIMESCALE, duration)
        version = 1
    else:
        times = struct.pack(">IIII", 0, 0, MOVIE_TIMESCALE, duration)
        version = 0
    rest = (
        struct.pack(">IH10x", 0x10000, 0x100) + _MATRIX + bytes(24) + struct.pack(">I", next_track)
    )
    return make_full(b"mvhd", version, 0, times, rest)


def _to_movie(value: int, timescale: int) -> int:
    return round(value * MOVIE_TIMESCALE / timescale)


def _edits(track: TrackIndex, lead: int) -> list[tuple[int, int]]:
    """(segment duration in movie units, media time; -1: empty) of the track's edit list:
    the source's, rescaled, with open-ended entries (a fragmented file's 0) made exact, and
    an empty edit first for a track that starts later than the others."""
    data = track.trak
    trak = Box(b"trak", 0, 8, len(data))
    elst = path(data, trak, b"edts", b"elst")
    edits: list[tuple[int, int]] = []
    if elst is not None:
        version, _ = full_header(data, elst)
        (count,) = struct.unpack_from(">I", data, elst.body_start + 4)
        form = ">QqI" if version == 1 else ">IiI"
        step = struct.calcsize(form)
        for i in range(count):
            duration, media_time, _ = struct.unpack_from(form, data, elst.body_start + 8 + step * i)
            if media_time == -1:
                edits.append((round(duration * MOVIE_TIMESCALE / track.movie_timescale), -1))
                continue
            if duration == 0:
                duration = _to_movie(max(0, track.media_duration - media_time), track.timescale)
            else:
                duration = round(duration * MOVIE_TIMESCALE / track.movie_timescale)
            edits.append((duration, media_time))
    if lead > 0:
        if not any(media_time >= 0 for _, media_time in edits):
            edits.append((_to_movie(track.media_duration, track.timescale), 0))
        edits.insert(0, (lead, -1))
    return edits


def presentation_start(track: TrackIndex) -> tuple[float, int]:
    """Where the track's presentation begins, as its edit list says: seconds of empty edits
    first, then the media time (in the track's timescale) shown at that moment (0 without
    an edit list)."""
    empty = 0
    for duration, media_time in _edits(track, 0):
        if media_time != -1:
            return empty / MOVIE_TIMESCALE, media_time
        empty += duration
    return empty / MOVIE_TIMESCALE, 0


def _track_duration(track: TrackIndex, lead: int) -> int:
    edits = _edits(track, lead)
    if edits:
        return sum(duration for duration, _ in edits)
    return _to_movie(track.media_duration, track.timescale)


def _trak(
    track: TrackIndex, number: int, lead: int, offsets: list[int], counts: list[int], wide: bool
) -> bytes:
    data = track.trak
    trak = Box(b"trak", 0, 8, len(data))
    tkhd = need(child(data, trak, b"tkhd"), "tkhd")
    mdia = need(child(data, trak, b"mdia"), "mdia")
    duration = _track_duration(track, lead)
    parts = [_tkhd(data, tkhd, number, duration)]
    edits = _edits(track, lead)
    if edits:
        big = any(d > _U32 for d, _ in edits)
        rows = b"".join(struct.pack(">QqI" if big else ">IiI", d, t, 0x10000) for d, t in edits)
        elst = make_full(b"elst", 1 if big else 0, 0, struct.pack(">I", len(edits)), rows)
        parts.append(make(b"edts", elst))
    parts.append(_mdia(track, mdia, offsets, counts, wide))
    return make(b"trak", *parts)


def _tkhd(data: bytes, tkhd: Box, number: int, duration: int) -> bytes:
    version, flags = full_header(data, tkhd)
    body = bytearray(data[tkhd.body_start + 4 : tkhd.end])
    if version == 1:
        struct.pack_into(">I", body, 16, number)
        struct.pack_into(">Q", body, 24, duration)
    else:
        struct.pack_into(">I", body, 8, number)
        if duration > _U32:
            raise BoxError("a track too long for its header")
        struct.pack_into(">I", body, 16, duration)
    return make_full(b"tkhd", version, flags | 0x3, bytes(body))


def _mdia(track: TrackIndex, mdia: Box, offsets: list[int], counts: list[int], wide: bool) -> bytes:
    data = track.trak
    parts: list[bytes] = []
    for box in children(data, mdia.body_start, mdia.end):
        if box.kind == b"mdhd":
            parts.append(_mdhd(data, box, track.media_duration))
        elif box.kind == b"hdlr":
            parts.append(bytes(data[box.start : box.end]))
        elif box.kind == b"minf":
            parts.append(_minf(track, box, offsets, counts, wide))
    return make(b"mdia", *parts)


def _mdhd(data: bytes, mdhd: Box, duration: int) -> bytes:
    version, flags = full_header(data, mdhd)
    body = bytearray(data[mdhd.body_start + 4 : mdhd.end])
    if version == 1:
        struct.pack_into(">Q", body, 20, duration)
    elif duration > _U32:
        body = bytearray(
            struct.pack(">QQIQ", 0, 0, *struct.unpack_from(">I", body, 8), duration) + body[16:]
        )
        version = 1
    else:
        struct.pack_into(">I", body, 12, duration)
    return make_full(b"mdhd", version, flags, bytes(body))


def _minf(track: TrackIndex, minf: Box, offsets: list[int], counts: list[int], wide: bool) -> bytes:
    data = track.trak
    parts: list[bytes] = []
    for box in children(data, minf.body_start, minf.end):
        if box.kind in (b"vmhd", b"smhd", b"dinf"):
            parts.append(bytes(data[box.start : box.end]))
        elif box.kind == b"stbl":
            stsd = need(child(data, box, b"stsd"), "stsd")
            parts.append(
                make(
                    b"stbl",
                    bytes(data[stsd.start : stsd.end]),
                    *_tables(track, offsets, counts, wide),
                )
            )
    return make(b"minf", *parts)


def _tables(track: TrackIndex, offsets: list[int], counts: list[int], wide: bool) -> list[bytes]:
    tables = [_run_box(b"stts", 0, track.durations)]
    if any(track.cts):
        tables.append(_run_box(b"ctts", 1 if min(track.cts) < 0 else 0, track.cts))
    if track.handler != SOUND and not all(track.sync):
        numbers = [i + 1 for i, sync in enumerate(track.sync) if sync]
        tables.append(
            make_full(b"stss", 0, 0, struct.pack(f">I{len(numbers)}I", len(numbers), *numbers))
        )
    rows: list[tuple[int, int]] = []
    for number, count in enumerate(counts, 1):
        if not rows or rows[-1][1] != count:
            rows.append((number, count))
    tables.append(
        make_full(
            b"stsc",
            0,
            0,
            struct.pack(">I", len(rows)),
            b"".join(struct.pack(">III", f, c, 1) for f, c in rows),
        )
    )
    sizes = track.sizes
    if all(size == sizes[0] for size in sizes):
        tables.append(make_full(b"stsz", 0, 0, struct.pack(">II", sizes[0], len(sizes))))
    else:
        tables.append(
            make_full(b"stsz", 0, 0, struct.pack(f">II{len(sizes)}I", 0, len(sizes), *sizes))
        )
    form = "Q" if wide else "I"
    tables.append(
        make_full(
            b"co64" if wide else b"stco",
            0,
            0,
            struct.pack(f">I{len(offsets)}{form}", len(offsets), *offsets),
        )
    )
    return tables


def _run_box(kind: bytes, version: int, values: Sequence[int]) -> bytes:
    runs: list[list[int]] = []
    for value in values:
        if runs and runs[-1][1] == value:
            runs[-1][0] += 1
        else:
            runs.append([1, value])
    form = "Ii" if version == 1 else "II"
    rows = b"".join(struct.pack(">" + form, count, value) for count, value in runs)
    return make_full(kind, version, 0, struct.pack(">I", len(runs)), rows)
