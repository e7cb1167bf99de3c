"""A plain MP4's layout from its top-level boxes: where its sample data lies, and its index.

A plain MP4 holds every sample's size and place in one `moov`, and the samples in `mdat`
boxes. Its index view is the same file with the bytes outside the sample data real and the
sample data all zeros: ffprobe reads packet sizes and keyframes from it without a byte of
the samples, so a part is planned from the index alone. Reading the boxes needs only their
headers; everything here works on bytes handed to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

MAX_INDEX_BYTES = 32 * 1024 * 1024
"""An MP4's bytes outside its `mdat` (the index, kept on disk for the index view) may be at
most this much; a larger header is read as any other file. A 3-hour 720p MP4's is ~10 MB."""
_BOX_HEADER = 16
_MAX_BOXES = 64

SampleData = tuple[tuple[int, int], ...]
"""(first byte, end) of each `mdat` payload, in order."""


async def find_sample_data(
    read: Callable[[int, int], Awaitable[bytes]], size: int
) -> SampleData | None:
    """Walk the top-level boxes of a file of `size` bytes (`read(offset, count)` returns
    its bytes, fewer at its end): the sample data of a plain MP4. None for anything else:
    no `ftyp` first, a `moof` (fragmented: the index is spread through the file), no `moov`
    or several, boxes that do not tile the file, too many boxes (`_MAX_BOXES`), or more than
    `MAX_INDEX_BYTES` outside the sample data."""
    offset = 0
    kinds: list[bytes] = []
    data: list[tuple[int, int]] = []
    while offset < size:
        header = await read(offset, min(_BOX_HEADER, size - offset))
        if len(header) < 8 or len(kinds) > _MAX_BOXES:
            return None
        box_size, kind, head = int.from_bytes(header[:4], "big"), header[4:8], 8
        if box_size == 1 and len(header) == _BOX_HEADER:
            box_size, head = int.from_bytes(header[8:16], "big"), _BOX_HEADER
        elif box_size == 0:
            box_size = size - offset
        if box_size < head or offset + box_size > size or kind == b"moof":
            return None
        kinds.append(kind)
        if kind == b"mdat":
            data.append((offset + head, offset + box_size))
        offset += box_size
    header_bytes = size - sum(stop - first for first, stop in data)
    if kinds[:1] != [b"ftyp"] or kinds.count(b"moov") != 1 or header_bytes > MAX_INDEX_BYTES:
        return None
    return tuple(data)


def index_blocks(sample_data: SampleData, size: int, block_bytes: int) -> list[range]:
    """The blocks of `block_bytes` that hold any byte outside the sample data: the index
    view's real bytes."""
    edges = [0, *(edge for pair in sample_data for edge in pair), size]
    return [
        range(first // block_bytes, (stop - 1) // block_bytes + 1)
        for first, stop in zip(edges[::2], edges[1::2], strict=True)
        if stop > first
    ]


def within_sample_data(sample_data: SampleData, start: int, end: int) -> bool:
    """Whether bytes `start` to `end` (exclusive) all lie in one `mdat` payload."""
    return any(first <= start and end <= stop for first, stop in sample_data)
