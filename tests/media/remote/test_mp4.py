"""An MP4's layout read from its top-level box headers: the sample data and the index."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mediabot.media.remote.mp4 import (
    MAX_INDEX_BYTES,
    SampleData,
    find_sample_data,
    index_blocks,
    within_sample_data,
)

Reader = Callable[[int, int], Awaitable[bytes]]


def _file(*boxes: tuple[bytes, int], large: frozenset[bytes] = frozenset()) -> tuple[Reader, int]:
    """A file of the given (kind, size) boxes, only its box headers written: the rest
    reads as zeros. A kind in `large` gets a 64-bit size; a size 0 runs to the end."""
    headers: dict[int, bytes] = {}
    offset = 0
    for kind, size in boxes:
        if kind in large:
            headers[offset] = (1).to_bytes(4, "big") + kind + size.to_bytes(8, "big")
        else:
            headers[offset] = size.to_bytes(4, "big") + kind
        offset += size
    total = offset

    async def read(at: int, count: int) -> bytes:
        data = headers.get(at, b"").ljust(count, b"\0")[:count]
        return data[: max(0, total - at)]

    return read, total


async def _sample_data(*boxes: tuple[bytes, int], **options: frozenset[bytes]) -> SampleData | None:
    read, size = _file(*boxes, **options)
    return await find_sample_data(read, size)


async def test_a_plain_mp4s_sample_data_is_found_from_its_box_headers() -> None:
    assert await _sample_data((b"ftyp", 16), (b"moov", 32), (b"mdat", 1008)) == ((56, 1056),)
    # the index after the data, several data boxes
    assert await _sample_data((b"ftyp", 16), (b"mdat", 108), (b"mdat", 58), (b"moov", 32)) == (
        (24, 124),
        (132, 182),
    )


async def test_large_and_open_ended_boxes_are_measured_as_the_format_says() -> None:
    wide = frozenset({b"mdat"})
    assert await _sample_data((b"ftyp", 16), (b"moov", 32), (b"mdat", 1016), large=wide) == (
        (64, 1064),
    )
    read, size = _file((b"ftyp", 16), (b"moov", 32), (b"mdat", 1008))
    open_ended = await find_sample_data(_with_size_zero(read, at=48), size)
    assert open_ended == ((56, 1056),)


def _with_size_zero(read: Reader, *, at: int) -> Reader:
    async def patched(offset: int, count: int) -> bytes:
        data = await read(offset, count)
        return bytes(4) + data[4:] if offset == at else data

    return patched


async def test_what_is_not_a_plain_mp4_has_no_index_view() -> None:
    assert await _sample_data((b"ftyp", 16), (b"moov", 32), (b"moof", 64), (b"mdat", 100)) is None
    assert await _sample_data((b"moov", 32), (b"ftyp", 16), (b"mdat", 100)) is None
    assert await _sample_data((b"ftyp", 16), (b"moov", 32), (b"moov", 32), (b"mdat", 9)) is None
    assert await _sample_data((b"ftyp", 16), (b"mdat", 100)) is None  # no index at all
    assert await _sample_data((b"ftyp", 16), (b"moov", 4), (b"mdat", 100)) is None
    read, size = _file((b"ftyp", 16), (b"moov", 32), (b"mdat", 1008))
    assert await find_sample_data(read, size - 1) is None  # boxes run past the end
    too_large = MAX_INDEX_BYTES + 1
    assert await _sample_data((b"ftyp", 16), (b"moov", too_large), (b"mdat", 100)) is None
    many = [(b"free", 8)] * 100
    assert await _sample_data((b"ftyp", 16), (b"moov", 32), *many, (b"mdat", 100)) is None


def test_the_index_view_keeps_every_block_that_holds_a_byte_outside_the_data() -> None:
    data = ((56, 1056),)
    assert index_blocks(data, 1256, 128) == [range(0, 1), range(8, 10)]
    assert index_blocks(((0, 1024),), 1024, 128) == []
    assert within_sample_data(data, 128, 256)
    assert not within_sample_data(data, 0, 128)
    assert not within_sample_data(data, 1024, 1152)
