"""A delivery in parts from indexes read ahead: each part goes up while it is fetched.

The parts are planned from the samples the indexes list (`faststart.cuts`), no ffmpeg: each
part's file (its own `moov` first) is spooled to the work folder from its layout and posted
from the spool as it fills, one multipart request of known length, as the one file is
(`senders.streamed`). Parts are fetched one after another, the next starting once the one
before is all fetched, with at most two on disk: while a part goes up, the next comes
down. A segmented source's parts are planned from the fragments read so far, the others
read meanwhile; the first part's upload, which announces the count, waits for them all.
With a local Bot API server a part is posted by its path once complete. Each part is
deleted once Telegram answers. A part refused as too large (413) is planned again from its
start under a lower limit, and the delivery goes on from there.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiogram.types import Message

from mediabot.domain.enums import MediaKind
from mediabot.media.faststart.boxes import BoxError
from mediabot.media.faststart.cuts import PartPlanner, PlannedPart
from mediabot.media.faststart.source import Indexed
from mediabot.media.faststart.spool import Spool
from mediabot.media.parts import CutPart, SplitError, part_path
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.tools import discard
from mediabot.senders.base import DeliveryError
from mediabot.senders.part_line import limit_after_refused, upload_parts
from mediabot.telegram.uploads import StreamedFile

logger = logging.getLogger(__name__)

_ON_DISK = 2
_JOIN_GAP_BYTES = 32 * 1024
"""A part's pieces this close are read in one request: fragments' headers lie between
them, but a larger gap holds samples of the part before or after."""

Post = Callable[[CutPart, int, StreamedFile | None], Coroutine[Any, Any, Message]]
"""Posts a part of `total` parts: from the spool as it fills (a `StreamedFile`), or, with
None, the complete file at the part's path."""
Accept = Callable[[Message, CutPart, int], Awaitable[None]]
"""Records a part Telegram accepted, with the number of parts announced with it."""


@dataclass(slots=True)
class _Spooling:
    """A planned part, starting at cut point `cut`, being fetched into its spool."""

    planned: PlannedPart
    cut: int
    spool: Spool
    filling: asyncio.Task[None] = field(init=False)

    @property
    def part(self) -> CutPart:
        planned = self.planned
        return CutPart(
            self.spool.path,
            planned.index,
            planned.start_s,
            planned.end_s,
            planned.layout.size,
            planned.is_last,
        )

    async def release(self) -> None:
        """Stop fetching and delete the part."""
        if not self.filling.done():
            self.filling.cancel()
        await asyncio.gather(self.filling, return_exceptions=True)
        self.spool.close()
        discard(self.spool.path)


class IndexedParts:
    """Sends `indexed` in parts planned by `planner` into `work_dir` (named from `stem`),
    each posted with `post` under the name `name_of` gives it, each accepted one given to
    `accept`; `local`: a local Bot API server, which reads the complete part from disk."""

    def __init__(
        self,
        indexed: Indexed,
        planner: PartPlanner,
        *,
        work_dir: Path,
        stem: str,
        kind: MediaKind,
        local: bool,
        name_of: Callable[[CutPart], str],
        post: Post,
        accept: Accept,
    ) -> None:
        self._indexed = indexed
        self._planner = planner
        self._work_dir = work_dir
        self._stem = stem
        self._kind = kind
        self._local = local
        self._name_of = name_of
        self._post = post
        self._accept = accept

    async def send(self, start_s: float, first_index: int, limit_bytes: int) -> None:
        """Send the parts from the cut point at `start_s` on, numbered from
        `first_index`. `DeliveryError` when the source breaks off or a stretch between
        two keyframes is over the limit; Telegram's other errors propagate."""
        index, limit = first_index, limit_bytes
        while (cut := self._planner.cut_at(start_s)) is None:
            await self._more()
        while True:
            refused = await self._send_from(cut, index, limit)
            if refused is None:
                return
            limit = limit_after_refused(limit, refused.part)
            cut, index = refused.cut, refused.planned.index

    async def _send_from(self, cut: int, index: int, limit: int) -> _Spooling | None:
        """Send the parts from cut point `cut` on; the part refused as too large, if one
        is. The first is planned and fetched from the samples read so far; its upload,
        which announces the count, waits for all."""
        total: int | None = None

        async def announced(part: CutPart) -> int:
            nonlocal total
            if total is None:
                total = await self._total(cut, index, limit)
            return part.announced_total(total)

        async def post(item: _Spooling) -> Message:
            part = item.part
            return await self._upload(item, part, await announced(part))

        async def accept(item: _Spooling, message: Message) -> None:
            part = item.part
            await self._accept(message, part, await announced(part))

        return await upload_parts(
            self._spool(cut, index, limit), on_disk=_ON_DISK, post=post, accept=accept
        )

    async def _total(self, cut: int, index: int, limit: int) -> int:
        """How many parts the delivery has in all, from part `index` at `cut` on."""
        await self._more(every=True)
        return index + self._planner.count(cut, limit)

    async def _planned(self, cut: int, index: int, limit: int) -> PlannedPart:
        """Part `index` from `cut`, once the samples read decide it."""
        self._grow()
        while (planned := self._planner.part(cut, index, limit)) is None:
            if self._indexed.complete:
                raise SplitError(f"no part planned from cut point {cut}")
            await self._more()
        return planned

    async def _more(self, *, every: bool = False) -> None:
        """Wait for more samples (`every`: for all of them) and take them in.
        `DeliveryError` when the rest of the index cannot be read."""
        try:
            if every:
                await self._indexed.completed()
            else:
                await self._indexed.grown(self._planner.samples)
        except RemoteReadError as exc:
            raise DeliveryError(f"the source broke off while its index was read: {exc}") from exc
        except (BoxError, struct.error, IndexError) as exc:
            raise DeliveryError(f"a fragment's index cannot be read: {exc}") from exc
        self._grow()

    def _grow(self) -> None:
        try:
            self._planner.grow()
        except BoxError as exc:
            raise DeliveryError(f"the media cannot be cut into parts: {exc}") from exc

    async def _spool(self, cut: int, index: int, limit: int) -> AsyncGenerator[_Spooling, None]:
        """The parts from cut point `cut` on, each planned and its fetching started once
        the one before is all fetched; ends early if that one's fetching failed (its
        upload meets the failure)."""
        previous: _Spooling | None = None
        while True:
            if previous is not None:
                await asyncio.wait({previous.filling})
                if previous.filling.cancelled() or previous.filling.exception():
                    return
            try:
                planned = await self._planned(cut, index, limit)
            except SplitError as exc:
                raise DeliveryError(f"the media cannot be cut into parts: {exc}") from exc
            path = part_path(self._work_dir, self._stem, planned.index, self._kind)
            spool = Spool(
                planned.layout,
                path,
                self._indexed.ranges,
                self._indexed.lane_of,
                join_gap_bytes=_JOIN_GAP_BYTES,
            )
            spooling = _Spooling(planned, cut, spool)
            spooling.filling = asyncio.create_task(spool.run())
            yield spooling
            if planned.is_last:
                return
            previous, cut, index = spooling, planned.after, index + 1

    async def _upload(self, item: _Spooling, part: CutPart, total: int) -> Message:
        """Post `part` from its spool while it fills (once complete with a local server)."""
        if self._local:
            await _filled(item.filling)
            return await self._post(part, total, None)
        spool = item.spool
        file = StreamedFile(spool.chunks, spool.size, self._name_of(part))
        posting = asyncio.create_task(self._post(part, total, file))
        try:
            await asyncio.wait({item.filling, posting}, return_when=asyncio.FIRST_EXCEPTION)
            if item.filling.done() and item.filling.exception() is not None:
                await _filled(item.filling)
            return await posting
        finally:
            if not posting.done():
                posting.cancel()
            await asyncio.gather(posting, return_exceptions=True)


async def _filled(filling: asyncio.Task[None]) -> None:
    try:
        await filling
    except (RemoteReadError, RuntimeError, OSError) as exc:
        raise DeliveryError(f"the source broke off while it was streamed: {exc}") from exc
