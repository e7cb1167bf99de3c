"""The arithmetic of clips on its own: pieces in time, byte spans, MP4 boxes and tables."""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from mediabot.domain.enums import MediaKind
from mediabot.media.clips import boxes, samples, window
from mediabot.media.clips.cutter import clip_command
from mediabot.media.probe import Packet


def _box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def _full(kind: bytes, body: bytes, version: int = 0) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + body)


def test_pieces_are_chosen_from_the_one_holding_the_start_to_the_one_before_the_end() -> None:
    starts = window.starts_of([2.5, 2.0, 2.0, 2.0, 2.0])
    assert starts == [0.0, 2.5, 4.5, 6.5, 8.5]
    assert window.covering(starts, 3.0, 7.0) == range(1, 4)
    assert window.covering(starts, 2.5, 6.5) == range(1, 3)  # an end on a boundary
    assert window.covering(starts, 0.0, None) == range(0, 5)
    assert window.covering(starts, 9.0, None) == range(4, 5)
    assert window.starts_of([2.0, None, 2.0]) is None


def _packet(stream: int, pts: float, key: bool, position: int, size: int = 100) -> Packet:
    return Packet(stream, pts, pts, size, key, position)


def test_the_keyframe_at_or_before_and_the_bytes_from_it() -> None:
    packets = [
        _packet(0, 0.5, True, 1000),
        _packet(1, 0.49, True, 1100),
        _packet(0, 1.0, False, 1200),
        _packet(0, 1.5, True, 1300),
        _packet(1, 1.52, True, 1400),
        _packet(0, 2.0, False, 1500),
        _packet(0, 3.0, False, 1600),
    ]
    keyframe = window.keyframe_at_or_before(packets, 0, 1.9)
    assert keyframe is not None and keyframe.pts_s == 1.5
    first = window.keyframe_at_or_before(packets, 0, 0.1)  # none before: the first
    assert first is not None and first.pts_s == 0.5
    assert window.keyframe_at_or_before(packets, 2, 1.0) is None
    assert window.byte_span(packets, 1.5, 2.0) == (1300, 1600)  # half a second past the end
    assert window.byte_span(packets, 1.5, None) == (1300, 1700)
    with pytest.raises(ValueError, match="no packet"):
        window.byte_span(packets, 5.0, 6.0)


def _sidx(references: list[tuple[int, int, bool]], *, version: int = 0) -> bytes:
    """A `sidx` at 1000 Hz indexing (size, duration in ms, starts with SAP) references."""
    times = struct.pack(">II", 500, 40) if version == 0 else struct.pack(">QQ", 500, 40)
    body = struct.pack(">II", 1, 1000) + times + struct.pack(">HH", 0, len(references))
    for size, duration, sap in references:
        body += struct.pack(">III", size, duration, (1 << 31) if sap else 0)
    return _full(b"sidx", body, version)


@pytest.mark.parametrize("version", [0, 1])
def test_a_sidx_places_its_subsegments_in_bytes_and_time(version: int) -> None:
    data = _sidx([(300, 2000, True), (200, 2000, False), (100, 1500, True)], version=version)
    box = boxes.Box(b"sidx", 1000, len(data), 8)
    assert boxes.parse_sidx(data, box) == [
        boxes.Subsegment(1000 + len(data) + 40, 300, 0.5, 2.0, True),
        boxes.Subsegment(1000 + len(data) + 340, 200, 2.5, 2.0, False),
        boxes.Subsegment(1000 + len(data) + 540, 100, 4.5, 1.5, True),
    ]
    with pytest.raises(ValueError, match="short"):
        boxes.parse_sidx(data[:-6], box)
    nested = bytearray(data)
    nested[-12] |= 0x80  # a reference to another sidx
    with pytest.raises(ValueError, match="other indexes"):
        boxes.parse_sidx(bytes(nested), box)


async def test_the_top_boxes_of_an_mp4_up_to_its_first_fragment() -> None:
    plain = _box(b"ftyp", b"isom") + _box(b"moov", b"x" * 20) + _box(b"mdat", b"\0" * 50)
    fragmented = _box(b"ftyp", b"isom") + _box(b"moov", b"") + _box(b"moof", b"") + b"\0" * 9

    def reader(data: bytes) -> Callable[[int, int], Awaitable[bytes]]:
        async def read(offset: int, count: int) -> bytes:
            return data[offset : offset + count]

        return read

    found = await boxes.top_boxes(reader(plain), len(plain))
    assert found is not None and [box.kind for box in found] == [b"ftyp", b"moov", b"mdat"]
    assert found[2].offset == 40 and found[2].end == len(plain)
    found = await boxes.top_boxes(reader(fragmented), len(fragmented))
    assert found is not None and found[-1].kind == b"moof"
    not_mp4 = b"<html>" + b"\0" * 100
    assert await boxes.top_boxes(reader(not_mp4), len(not_mp4)) is None
    assert await boxes.top_boxes(reader(plain[:-10]), len(plain) - 10) is None  # cut short


def _trak(handler: bytes, *, keys: list[int] | None) -> bytes:
    """A track of five samples of 10, 20, 30, 40, 50 bytes in two chunks (3 + 2)."""
    tables = _full(b"stsz", struct.pack(">II", 0, 5) + struct.pack(">5I", 10, 20, 30, 40, 50))
    tables += _full(b"stsc", struct.pack(">I", 2) + struct.pack(">6I", 1, 3, 1, 2, 2, 1))
    tables += _full(b"stco", struct.pack(">I", 2) + struct.pack(">2I", 1000, 5000))
    if keys is not None:
        tables += _full(
            b"stss", struct.pack(">I", len(keys)) + struct.pack(f">{len(keys)}I", *keys)
        )
    hdlr = _full(b"hdlr", struct.pack(">I", 0) + handler + b"\0" * 12)
    stbl = _box(b"stbl", tables)
    return _box(b"trak", _box(b"mdia", hdlr + _box(b"minf", stbl)))


def test_keyframes_are_placed_by_the_sample_tables() -> None:
    moov = _box(b"moov", _trak(b"soun", keys=[1]) + _trak(b"vide", keys=[1, 4]))
    assert samples.keyframe_positions(moov) == {1000, 5000}
    moov = _box(b"moov", _trak(b"vide", keys=[2, 3, 5]))
    assert samples.keyframe_positions(moov) == {1010, 1030, 5040}
    assert samples.keyframe_positions(_box(b"moov", _trak(b"vide", keys=None))) is None
    assert samples.keyframe_positions(_box(b"moov", _trak(b"soun", keys=[1]))) is None


def test_the_cut_copies_from_just_before_the_keyframe_and_puts_the_index_first() -> None:
    args = clip_command(
        [Path("v.src"), Path("a.src")], MediaKind.VIDEO, 300.5, 321.0, Path("clip.mp4"), 300.5
    )
    assert args[args.index("-copyts") + 1 :][:4] == ["-ss", "300.500500", "-i", "v.src"]
    assert args.count("-i") == 2 and args.count("-ss") == 3
    assert args[args.index("-map") :][:4] == ["-map", "0:v:0", "-map", "1:a:0?"]
    assert args[args.index("-c") :][:6] == ["-c", "copy", "-ss", "300.499500", "-to", "321.000000"]
    assert args[-3:] == ["-movflags", "+faststart", "clip.mp4"]
    sound = clip_command([Path("m.src")], MediaKind.AUDIO, 100.0, None, Path("clip.m4a"))
    assert sound.count("-ss") == 1 and "-to" not in sound and "+faststart" not in sound
    assert sound[sound.index("-map") :][:2] == ["-map", "0:a:0"]
