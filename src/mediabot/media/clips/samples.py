"""Where a plain MP4's keyframes lie, read from its sample tables (`moov`/…/`stbl`).

ffprobe reads a packet's time, size and place from the index alone, but marks keyframes
from the packet's bytes: in a file whose samples are not fetched yet it sees none. The
sample tables say it without the samples: `stss` numbers the keyframes, and `stsc`,
`stco`/`co64` and `stsz` place every sample in the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from mediabot.media.clips.boxes import read_header

_CONTAINERS = (b"trak", b"mdia", b"minf", b"stbl")


def _children(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, body start, end) of the boxes between `start` and `end`."""
    at = start
    while (box := read_header(data[at : at + 16], at, end)) is not None:
        yield box.kind, box.offset + box.header, box.end
        at = box.end


def _tables(data: bytes, start: int, end: int, found: dict[bytes, bytes]) -> None:
    for kind, body, stop in _children(data, start, end):
        if kind in _CONTAINERS:
            _tables(data, body, stop, found)
        else:
            found.setdefault(kind, data[body:stop])


def _words(body: bytes, at: int, count: int, size: int = 4) -> list[int]:
    return [int.from_bytes(body[i : i + size], "big") for i in range(at, at + count * size, size)]


def keyframe_positions(moov: bytes) -> set[int] | None:
    """The byte offsets in the file of the video track's keyframes, from the `moov` box
    (`moov`: the whole box). None when there is no video track or every sample of it is a
    keyframe (no `stss`). Raises ValueError for tables cut short."""
    for kind, body, stop in _children(moov, 8, len(moov)):
        if kind != b"trak":
            continue
        tables: dict[bytes, bytes] = {}
        _tables(moov, body, stop, tables)
        handler = tables.get(b"hdlr", b"")
        if handler[8:12] != b"vide":
            continue
        if b"stss" not in tables:
            return None
        return _positions(tables)
    return None


def _positions(tables: dict[bytes, bytes]) -> set[int]:
    stss, stsz, stsc = tables[b"stss"], tables.get(b"stsz"), tables.get(b"stsc")
    if stsz is None or stsc is None:
        raise ValueError("the video track has no sample sizes or chunks")
    keys = set(_words(stss, 8, int.from_bytes(stss[4:8], "big")))
    uniform, count = int.from_bytes(stsz[4:8], "big"), int.from_bytes(stsz[8:12], "big")
    sizes = [uniform] * count if uniform else _words(stsz, 12, count)
    if b"co64" in tables:
        offsets = _words(tables[b"co64"], 8, int.from_bytes(tables[b"co64"][4:8], "big"), 8)
    else:
        offsets = _words(tables[b"stco"], 8, int.from_bytes(tables[b"stco"][4:8], "big"))
    runs = _words(stsc, 8, int.from_bytes(stsc[4:8], "big") * 3)
    firsts, per_chunk = runs[0::3], runs[1::3]
    if len(sizes) < count or len(keys) > count or not firsts:
        raise ValueError("the sample tables are cut short")
    positions: set[int] = set()
    sample = 1
    run = 0
    for chunk, offset in enumerate(offsets, start=1):
        while run + 1 < len(firsts) and firsts[run + 1] <= chunk:
            run += 1
        for _ in range(per_chunk[run]):
            if sample > count:
                return positions
            if sample in keys:
                positions.add(offset)
            offset += sizes[sample - 1]
            sample += 1
    return positions
