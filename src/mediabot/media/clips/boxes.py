"""An MP4's top-level boxes, and the time map of a `sidx` (segment index).

Two kinds of MP4 are cut from without reading them whole. A plain MP4 keeps every
sample's place in its `moov`: its bytes outside `mdat` are the index. A fragmented MP4
indexed by a `sidx` (DASH "on demand", YouTube's formats) lists, for each of its
subsegments (`moof` + `mdat`), its bytes and its duration: the subsegments a time range
needs are found from the `sidx` alone. Everything here reads bytes handed to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

_HEADER = 16
_MAX_BOXES = 64


@dataclass(frozen=True, slots=True)
class Box:
    """A top-level box: its type, where it starts, its whole size, its header's size."""

    kind: bytes
    offset: int
    size: int
    header: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True, slots=True)
class Subsegment:
    """One `sidx` reference: its bytes (offset, size), its times in seconds, and whether
    it starts with a stream access point (a keyframe: it can be played from its start)."""

    offset: int
    size: int
    start_s: float
    duration_s: float
    starts_with_sap: bool = True


async def top_boxes(read: Callable[[int, int], Awaitable[bytes]], size: int) -> list[Box] | None:
    """The top-level boxes of a file of `size` bytes (`read(offset, count)` gives its
    bytes), up to its first `moof` or its end. None when they are not an MP4's: no `ftyp`
    first, a box past the end, or more than `_MAX_BOXES`."""
    boxes: list[Box] = []
    offset = 0
    while offset < size and len(boxes) < _MAX_BOXES:
        box = read_header(await read(offset, min(_HEADER, size - offset)), offset, size)
        if box is None:
            return None
        boxes.append(box)
        if box.kind == b"moof":
            break
        offset = box.end
    if not boxes or boxes[0].kind != b"ftyp" or (offset < size and boxes[-1].kind != b"moof"):
        return None
    return boxes


def read_header(header: bytes, offset: int, end: int) -> Box | None:
    """The box whose header (its first 8 or 16 bytes) is `header`, at `offset` of bytes
    that end at `end`; None when it is cut short or runs past `end`."""
    if len(header) < 8:
        return None
    size, kind, head = int.from_bytes(header[:4], "big"), header[4:8], 8
    if size == 1:
        if len(header) < _HEADER:
            return None
        size, head = int.from_bytes(header[8:16], "big"), _HEADER
    elif size == 0:
        size = end - offset
    if size < head or offset + size > end:
        return None
    return Box(kind, offset, size, head)


def parse_sidx(data: bytes, box: Box) -> list[Subsegment]:
    """The subsegments a `sidx` box (`data`: the whole box, at `box.offset` in its file)
    lists, in order. Raises ValueError for a `sidx` that does not index media directly
    (one that points at further `sidx` boxes) or is cut short."""
    body = memoryview(data)[box.header :]
    version = body[0]
    timescale = int.from_bytes(body[8:12], "big")
    if version == 0:
        earliest, first_offset, at = _u(body, 12, 4), _u(body, 16, 4), 20
    else:
        earliest, first_offset, at = _u(body, 12, 8), _u(body, 20, 8), 28
    count = _u(body, at + 2, 2)
    at += 4
    if timescale == 0 or len(body) < at + 12 * count:
        raise ValueError("the sidx is cut short")
    offset = box.end + first_offset
    time = earliest
    subsegments: list[Subsegment] = []
    for _ in range(count):
        reference = _u(body, at, 4)
        duration = _u(body, at + 4, 4)
        access = bool(_u(body, at + 8, 4) >> 31)
        if reference >> 31:
            raise ValueError("the sidx points at other indexes, not at media")
        size = reference & 0x7FFFFFFF
        subsegments.append(Subsegment(offset, size, time / timescale, duration / timescale, access))
        offset += size
        time += duration
        at += 12
    return subsegments


def _u(data: memoryview, at: int, size: int) -> int:
    return int.from_bytes(data[at : at + size], "big")
