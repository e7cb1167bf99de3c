"""ISO BMFF boxes read from and written to bytes: headers, children, full-box fields.

Everything here works on bytes in memory; a malformed box raises `BoxError`, which the
callers turn into "no index known ahead".
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass


class BoxError(Exception):
    """Bytes that are not the boxes expected."""


@dataclass(frozen=True, slots=True)
class Box:
    """One box inside a buffer: its type, where it starts, its header and total size."""

    kind: bytes
    start: int
    header: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size

    @property
    def body_start(self) -> int:
        return self.start + self.header


def box_at(data: bytes | memoryview, offset: int, limit: int | None = None) -> Box:
    """The box whose header starts at `offset`; its size may run past the buffer (a caller
    reading a header alone), but never past `limit` when one is given."""
    if offset + 8 > len(data):
        raise BoxError("a box header runs past the bytes read")
    size, kind = struct.unpack_from(">I4s", data, offset)
    header = 8
    if size == 1:
        if offset + 16 > len(data):
            raise BoxError("a large box header runs past the bytes read")
        (size,) = struct.unpack_from(">Q", data, offset + 8)
        header = 16
    elif size == 0:
        if limit is None:
            raise BoxError("a box running to the end of an unknown size")
        size = limit - offset
    if size < header or (limit is not None and offset + size > limit):
        raise BoxError(f"box {bytes(kind)!r} has a bad size {size}")
    return Box(bytes(kind), offset, header, size)


def children(data: bytes | memoryview, start: int, end: int) -> Iterator[Box]:
    """The boxes tiling `data[start:end]`."""
    offset = start
    while offset < end:
        box = box_at(data, offset, end)
        yield box
        offset = box.end


def child(data: bytes | memoryview, parent: Box, kind: bytes, skip: int = 0) -> Box | None:
    """The first child of `parent` of type `kind` (`skip`: bytes of fields before them)."""
    return next(
        (b for b in children(data, parent.body_start + skip, parent.end) if b.kind == kind), None
    )


def need(box: Box | None, what: str) -> Box:
    if box is None:
        raise BoxError(f"no {what} box")
    return box


def path(data: bytes | memoryview, parent: Box, *kinds: bytes) -> Box | None:
    """The box reached from `parent` through children of types `kinds`, in order."""
    current: Box | None = parent
    for kind in kinds:
        if current is None:
            return None
        current = child(data, current, kind, 8 if kind == b"dref" else 0)
    return current


def full_header(data: bytes | memoryview, box: Box) -> tuple[int, int]:
    """A full box's version and flags."""
    word = struct.unpack_from(">I", data, box.body_start)[0]
    return word >> 24, word & 0xFFFFFF


def make(kind: bytes, *payload: bytes) -> bytes:
    """A box of `kind` around `payload` (a large header when it needs one)."""
    size = 8 + sum(len(part) for part in payload)
    if size > 0xFFFFFFFF:
        return struct.pack(">I4sQ", 1, kind, size + 8) + b"".join(payload)
    return struct.pack(">I4s", size, kind) + b"".join(payload)


def make_full(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    """A full box: `make` with its version and flags first."""
    return make(kind, struct.pack(">I", (version << 24) | flags), *payload)
