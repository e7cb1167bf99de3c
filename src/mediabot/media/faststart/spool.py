"""The output file written from its layout while it is read in order (the upload).

The head (`ftyp`, `moov`, the `mdat` header) is written first; then each lane (one input,
or one track's fragments) reads its pieces in its own order with bounded range requests
and writes each byte where the layout puts it. `mark` is how far the file is complete from
its start: a reader waits for it (`chunks`). The file is as large as the delivery at
most, never more, and lanes read at the line's pace: nothing waits for the reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mediabot.media.faststart.layout import Layout, Piece

logger = logging.getLogger(__name__)

JOIN_GAP_BYTES = 512 * 1024
"""Pieces of a resource this close are read in one request (the gap read and dropped)."""
_SPAN_BYTES = 8 * 1024 * 1024
"""The most one request asks for: origins (YouTube's) slow down open-ended reads."""
_READ_BYTES = 1024 * 1024


class RangeStream(Protocol):
    def stream(self, resource: int, offset: int, count: int) -> AsyncIterator[bytes]: ...


@dataclass(frozen=True, slots=True)
class _Request:
    resource: int
    offset: int
    end: int
    pieces: tuple[int, ...]
    """Indexes in the layout's pieces this request fills, in the resource's order."""


class Spool:
    """Writes `layout` into `path` from `ranges`; `lane_of(resource)` groups resources read
    one after another (pieces of different lanes are read at once)."""

    def __init__(
        self,
        layout: Layout,
        path: Path,
        ranges: RangeStream,
        lane_of: Callable[[int], int],
        on_mark: Callable[[int], None] | None = None,
        join_gap_bytes: int = JOIN_GAP_BYTES,
    ) -> None:
        """`on_mark` is called with the mark each time it moves; pieces of a resource
        `join_gap_bytes` apart or closer are read in one request."""
        self.layout = layout
        self._on_mark = on_mark
        self.path = path
        self._ranges = ranges
        self._lane_of = lane_of
        self._join_gap_bytes = join_gap_bytes
        self._written = [0] * len(layout.pieces)
        self._next = 0
        self._mark = 0
        self._failure: BaseException | None = None
        self._changed = asyncio.Condition()
        self._fd: int | None = None

    @property
    def mark(self) -> int:
        """Bytes from the start of the file that are written."""
        return self._mark

    @property
    def size(self) -> int:
        return self.layout.size

    async def run(self) -> None:
        """Write the whole file; raises what a lane raised (and every reader gets it)."""
        self._fd = await asyncio.to_thread(
            os.open, self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600
        )
        try:
            await asyncio.to_thread(os.pwrite, self._fd, self.layout.head, 0)
            await self._advance(len(self.layout.head))
            async with asyncio.TaskGroup() as group:
                for requests in self._lanes():
                    group.create_task(self._run_lane(requests))
        except BaseException as exc:
            failure = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) else exc
            async with self._changed:
                self._failure = failure
                self._changed.notify_all()
            raise failure from None
        if self._mark != self.layout.size:
            raise RuntimeError("the spool ended short of its layout")

    def close(self) -> None:
        """Close the file (the caller deletes it)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    async def wait_for(self, position: int) -> int:
        """Wait until byte `position` is written; returns the mark then."""
        async with self._changed:
            await self._changed.wait_for(lambda: self._mark > position or self._failure is not None)
            if self._mark > position:
                return self._mark
            assert self._failure is not None
            raise self._failure

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes in order, each as soon as it is written."""
        position = 0
        while position < self.layout.size:
            mark = await self.wait_for(position)
            count = min(mark - position, _READ_BYTES)
            assert self._fd is not None
            data = await asyncio.to_thread(os.pread, self._fd, count, position)
            if len(data) != count:
                raise RuntimeError("the spool file is shorter than written")
            position += count
            yield data

    def _lanes(self) -> list[list[_Request]]:
        by_lane: dict[int, list[int]] = {}
        order: dict[int, int] = {}
        for number, piece in enumerate(self.layout.pieces):
            by_lane.setdefault(self._lane_of(piece.resource), []).append(number)
            order.setdefault(piece.resource, len(order))
        pieces = self.layout.pieces
        lanes: list[list[_Request]] = []
        for numbers in by_lane.values():
            numbers.sort(key=lambda n: (order[pieces[n].resource], pieces[n].offset))
            requests: list[_Request] = []
            for number in numbers:
                piece = pieces[number]
                last = requests[-1] if requests else None
                end = piece.offset + piece.length
                if (
                    last is not None
                    and last.resource == piece.resource
                    and 0 <= piece.offset - last.end <= self._join_gap_bytes
                    and end - last.offset <= _SPAN_BYTES
                ):
                    requests[-1] = _Request(last.resource, last.offset, end, (*last.pieces, number))
                else:
                    requests.append(_Request(piece.resource, piece.offset, end, (number,)))
            lanes.append(requests)
        return lanes

    async def _run_lane(self, requests: Sequence[_Request]) -> None:
        for request in requests:
            await self._fill(request)

    async def _fill(self, request: _Request) -> None:
        pieces = self.layout.pieces
        queue = list(request.pieces)
        position = request.offset
        async for chunk in self._ranges.stream(
            request.resource, request.offset, request.end - request.offset
        ):
            view = memoryview(chunk)
            at = 0
            while at < len(view) and queue:
                piece = pieces[queue[0]]
                if position + at < piece.offset:
                    at = min(len(view), piece.offset - position)
                    continue
                into = position + at - piece.offset
                take = min(len(view) - at, piece.length - into)
                await self._write(queue[0], piece, into, bytes(view[at : at + take]))
                at += take
                if into + take == piece.length:
                    queue.pop(0)
            position += len(chunk)
        if queue:
            raise RuntimeError("the origin sent less than the index promised")

    async def _write(self, number: int, piece: Piece, into: int, data: bytes) -> None:
        assert self._fd is not None
        await asyncio.to_thread(os.pwrite, self._fd, data, piece.out_offset + into)
        self._written[number] = into + len(data)
        if number == self._next:
            pieces = self.layout.pieces
            while (
                self._next < len(pieces) and self._written[self._next] == pieces[self._next].length
            ):
                self._next += 1
            if self._next < len(pieces):
                mark = pieces[self._next].out_offset + self._written[self._next]
            else:
                mark = self.layout.size
            await self._advance(mark)

    async def _advance(self, mark: int) -> None:
        async with self._changed:
            self._mark = max(self._mark, mark)
            self._changed.notify_all()
        if self._on_mark is not None:
            self._on_mark(self._mark)
