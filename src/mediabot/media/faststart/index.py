"""Reading tracks' indexes ahead of their samples, through any byte-range reader.

- a progressive MP4: its `moov`, wherever it lies (the top-level boxes are walked by
  their headers, the sample data skipped);
- a fragmented MP4 in one file (DASH SegmentBase, as YouTube serves it): the `moov` of its
  head, then every fragment's `moof`, found through the `sidx` (or, without one, by
  walking the boxes);
- fragments in files of their own (segmented DASH, HLS fMP4): the init's `moov`, then the
  `moof` at the head of each fragment, read a few at a time, each fragment's samples added
  in order as soon as they are read (a caller may plan from the first ones meanwhile).

Only headers are read: a few kilobytes per fragment. Whatever is not one of these raises
`BoxError` (an MPEG-TS segment, a `moov` too large, a box that does not fit), which means
"no index known ahead".
"""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from mediabot.media.faststart.boxes import Box, BoxError, box_at, children, full_header
from mediabot.media.faststart.samples import (
    TrackIndex,
    read_fragment,
    read_sample_table,
    tracks_of,
)

HEAD_BYTES = 64 * 1024
"""The first read of a file: its `ftyp`, and the whole `moov` of a short faststart file."""
FRAGMENT_HEAD_BYTES = 8 * 1024
"""The first read of a fragment: its `moof` unless it lists thousands of samples."""
MAX_MOOV_BYTES = 64 * 1024 * 1024
_MAX_TOP_BOXES = 100_000
_AHEAD = 16
"""Fragment heads read at once (per track): an hour of 6 s fragments is 600 requests."""


class Ranges(Protocol):
    """Reads bytes of numbered resources (files or URLs)."""

    async def read(self, resource: int, offset: int, count: int) -> bytes:
        """Bytes `offset` to `offset + count` of `resource` (fewer at its end)."""
        ...

    def size(self, resource: int) -> int | None:
        """The resource's size once a read has told it."""
        ...


@dataclass(frozen=True, slots=True)
class Span:
    """Where a fragment lies in its resource: from `offset`, `length` bytes (None: to the end)."""

    resource: int
    offset: int = 0
    length: int | None = None


async def file_tracks(ranges: Ranges, resource: int) -> list[TrackIndex]:
    """The tracks of one MP4 file, progressive or fragmented, with every sample."""
    head = await ranges.read(resource, 0, HEAD_BYTES)
    size = ranges.size(resource) or len(head)
    boxes = await _top_boxes(ranges, resource, head, size, 0, until_data=True)
    if boxes and boxes[-1].kind == b"moof" and not any(box.kind == b"sidx" for box in boxes):
        # fragments without an index of them: every box header is read to find them
        boxes += await _top_boxes(ranges, resource, head, size, boxes[-1].end)
    moovs = [box for box in boxes if box.kind == b"moov"]
    if len(moovs) != 1 or not boxes or boxes[0].kind != b"ftyp":
        raise BoxError("not one MP4 with one moov")
    moov_box = moovs[0]
    if moov_box.size > MAX_MOOV_BYTES:
        raise BoxError("the index is too large to read ahead")
    moov = await _bytes(ranges, resource, head, moov_box.start, moov_box.size)
    local = Box(b"moov", 0, moov_box.header, moov_box.size)
    tracks = tracks_of(moov, local)
    if not any(box.kind == b"mvex" for box in children(moov, local.body_start, local.end)):
        for track in tracks:
            read_sample_table(track, resource)
        return tracks
    sidx = next((box for box in boxes if box.kind == b"sidx"), None)
    if sidx is not None:
        data = await _bytes(ranges, resource, head, sidx.start, sidx.size)
        starts = _sidx_fragments(data, sidx.end)
    else:
        starts = [box.start for box in boxes if box.kind == b"moof"]
    await read_fragments(ranges, [Span(resource, start) for start in starts], tracks)
    return tracks


async def fragment_tracks(
    ranges: Ranges, init: Span, fragments: Sequence[Span]
) -> list[TrackIndex]:
    """The tracks of fragments kept apart from their init (segmented DASH, HLS fMP4)."""
    tracks = await init_tracks(ranges, init)
    await read_fragments(ranges, fragments, tracks)
    return tracks


async def init_tracks(ranges: Ranges, init: Span) -> list[TrackIndex]:
    """The tracks an init segment's `moov` describes, without samples."""
    head = await ranges.read(init.resource, init.offset, init.length or HEAD_BYTES)
    end = len(head) if init.length is None else min(len(head), init.length)
    moov_box = next((box for box in _boxes_in(head, end) if box.kind == b"moov"), None)
    if moov_box is None:
        raise BoxError("the init has no moov")
    if moov_box.end > len(head):
        head = head[: moov_box.start] + await ranges.read(
            init.resource, init.offset + moov_box.start, moov_box.size
        )
        moov_box = Box(b"moov", moov_box.start, moov_box.header, moov_box.size)
    moov = head[moov_box.start : moov_box.end]
    return tracks_of(moov, Box(b"moov", 0, moov_box.header, moov_box.size))


async def read_fragments(
    ranges: Ranges,
    spans: Sequence[Span],
    tracks: Sequence[TrackIndex],
    on_read: Callable[[], None] | None = None,
) -> None:
    """Read each fragment's `moof`, `_AHEAD` at once, and add its samples to `tracks` (by
    track id) as soon as every fragment before it is added too; `on_read` is called after
    each one."""
    if not spans:
        raise BoxError("no fragment")
    by_id = {track.track_id: track for track in tracks}
    reads: deque[asyncio.Task[tuple[bytes, int]]] = deque()
    following = iter(spans)
    try:
        for span in spans:
            while len(reads) < _AHEAD and (ahead := next(following, None)) is not None:
                reads.append(asyncio.ensure_future(_moof(ranges, ahead)))
            moof, at = await reads.popleft()
            read_fragment(moof, at, by_id, span.resource)
            if on_read is not None:
                on_read()
    finally:
        for read in reads:
            read.cancel()
        await asyncio.gather(*reads, return_exceptions=True)


def _boxes_in(data: bytes, end: int) -> list[Box]:
    found: list[Box] = []
    offset = 0
    while offset + 8 <= end:
        box = box_at(data, offset)
        found.append(box)
        offset = box.end
    return found


async def _top_boxes(
    ranges: Ranges,
    resource: int,
    head: bytes,
    size: int,
    offset: int,
    *,
    until_data: bool = False,
) -> list[Box]:
    """The file's top-level boxes from `offset`, by their headers (read where the head
    does not hold them); `until_data`: up to the first `moof` or `mdat` after the `moov`
    (what follows is sample data, and the fragments a `sidx` lists)."""
    found: list[Box] = []
    moov = False
    while offset < size:
        if len(found) >= _MAX_TOP_BOXES:
            raise BoxError("too many boxes")
        if offset + 16 <= len(head):
            header = head[offset : offset + 16]
        else:
            header = await ranges.read(resource, offset, 16)
        box = box_at(header, 0, size - offset)
        found.append(Box(box.kind, offset, box.header, box.size))
        offset += box.size
        moov = moov or box.kind == b"moov"
        if until_data and moov and box.kind in (b"moof", b"mdat"):
            break
    return found


async def _bytes(ranges: Ranges, resource: int, head: bytes, start: int, size: int) -> bytes:
    if start + size <= len(head):
        return head[start : start + size]
    return await ranges.read(resource, start, size)


def _sidx_fragments(data: bytes, end: int) -> list[int]:
    """The start of each fragment a `sidx` (the whole box in `data`, ending at byte `end`
    of its file) lists."""
    box = Box(b"sidx", 0, 8, len(data))
    version, _ = full_header(data, box)
    at = box.body_start + 12
    if version == 0:
        first = struct.unpack_from(">I", data, at + 4)[0]
        at += 8
    else:
        first = struct.unpack_from(">Q", data, at + 8)[0]
        at += 16
    (count,) = struct.unpack_from(">H", data, at + 2)
    at += 4
    starts: list[int] = []
    offset = end + first
    for i in range(count):
        (word,) = struct.unpack_from(">I", data, at + 12 * i)
        if word >> 31:
            raise BoxError("a sidx that refers to another sidx")
        starts.append(offset)
        offset += word & 0x7FFFFFFF
    return starts


async def _moof(ranges: Ranges, span: Span) -> tuple[bytes, int]:
    """The first `moof` of the fragment at `span`, and its offset in the resource."""
    wanted = FRAGMENT_HEAD_BYTES if span.length is None else min(span.length, FRAGMENT_HEAD_BYTES)
    head = await ranges.read(span.resource, span.offset, wanted)
    if head[:1] == b"\x47":
        raise BoxError("an MPEG-TS fragment")
    offset = 0
    while True:
        if offset + 16 > len(head):
            head = head[:offset] + await ranges.read(
                span.resource, span.offset + offset, FRAGMENT_HEAD_BYTES
            )
            if offset + 8 > len(head):
                raise BoxError("a fragment without a moof")
        box = box_at(head, offset)
        if box.kind == b"moof":
            break
        if box.kind in (b"mdat", b"moov"):
            raise BoxError("a fragment whose data comes before its moof")
        offset = box.end
        if offset >= len(head):
            head = head[:offset].ljust(offset, b"\0")
    if box.end > len(head):
        head = head[: box.start] + await ranges.read(
            span.resource, span.offset + box.start, box.size
        )
    return head[box.start : box.start + box.size], span.offset + box.start
