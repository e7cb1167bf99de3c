"""A remote source that fits one upload, sent as one file while it is fetched.

The indexes are read ahead (`media.faststart`), which gives the final file's exact size
and its `moov` before any sample: the file is spooled to the work folder in order and
uploaded from the spool as it fills, as one multipart request of known length. Whether it
goes this way is decided before the upload starts: a file over the limit is sent in parts
planned from the same indexes (`senders.spooled_parts`). With a local Bot API server
(which reads files from disk) the spool is posted by its path once complete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram.types import Message

from mediabot.domain.enums import DownloadPhase
from mediabot.domain.media import DownloadProgress, ProgressCallback
from mediabot.media.faststart.source import Assembly, Indexed
from mediabot.media.faststart.spool import Spool
from mediabot.media.parts import CutPart
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.tools import discard
from mediabot.senders.base import DeliveryError
from mediabot.telegram.uploads import StreamedFile

logger = logging.getLogger(__name__)

_WHOLE_MARGIN = 1.05
"""A source estimated up to this much over the limit is still read ahead for one file: the
indexes tell its exact size, and reading them costs a few requests."""

Upload = Callable[[CutPart, StreamedFile | None], Coroutine[Any, Any, Message]]
"""Posts the one file: from the spool as it fills (a `StreamedFile`), or, with None, the
complete file at the part's path."""


@dataclass(frozen=True, slots=True)
class Whole:
    """A source known to fit one upload, its file's layout ready to be spooled."""

    assembly: Assembly
    path: Path

    @property
    def size_bytes(self) -> int:
        return self.assembly.layout.size

    @property
    def duration_s(self) -> float:
        return self.assembly.layout.duration_s

    @property
    def frame_size(self) -> tuple[int | None, int | None]:
        return self.assembly.layout.width, self.assembly.layout.height


def may_fit(estimated_bytes: int | None, limit_bytes: int) -> bool:
    """Whether a source of `estimated_bytes` (None: unknown) is worth trying as one file."""
    return estimated_bytes is None or estimated_bytes <= limit_bytes * _WHOLE_MARGIN


def plan_whole(indexed: Indexed, path: Path, limit_bytes: int) -> Whole | None:
    """The one-file delivery of `indexed` spooled at `path`, or None: its boxes cannot be
    rewritten, or the file is over the limit. Its ranges stay open either way."""
    assembly = indexed.whole()
    if assembly is None:
        return None
    if assembly.layout.size > limit_bytes:
        logger.info(
            "The file would be %d bytes, over the %d byte limit: sending parts",
            assembly.layout.size,
            limit_bytes,
        )
        return None
    return Whole(assembly, path)


async def send_whole(
    whole: Whole,
    upload: Upload,
    *,
    local: bool,
    filename: str,
    progress: ProgressCallback | None = None,
    on_fetched: Callable[[], Awaitable[None]] | None = None,
) -> Message:
    """Spool `whole` and post it with `upload` while it fills (once complete when
    `local`), the bytes fetched reported to `progress`; the spool is deleted whatever
    happens. `on_fetched` is awaited once every byte is fetched, before the upload's
    last byte goes (so Telegram cannot answer first). A source that breaks off raises
    `DeliveryError` before the upload ends; Telegram's errors propagate."""
    layout = whole.assembly.layout

    def fetched(mark: int) -> None:
        if progress is not None:
            progress(
                DownloadProgress(
                    phase=DownloadPhase.DOWNLOADING, downloaded_bytes=mark, total_bytes=layout.size
                )
            )

    spool = Spool(
        layout, whole.path, whole.assembly.ranges, whole.assembly.lane_of, on_mark=fetched
    )
    part = CutPart(whole.path, 0, 0.0, layout.duration_s, layout.size, is_last=True)
    all_fetched = asyncio.Event()

    async def fill() -> None:
        await spool.run()
        if on_fetched is not None:
            await on_fetched()
        all_fetched.set()

    async def chunks() -> AsyncIterator[bytes]:
        position = 0
        async for chunk in spool.chunks():
            position += len(chunk)
            if position == layout.size:
                await all_fetched.wait()
            yield chunk

    filling = asyncio.create_task(fill())
    posting: asyncio.Task[Message] | None = None
    try:
        if local:
            await _filled(filling)
            return await upload(part, None)
        posting = asyncio.create_task(upload(part, StreamedFile(chunks, layout.size, filename)))
        await asyncio.wait({filling, posting}, return_when=asyncio.FIRST_EXCEPTION)
        if filling.done() and filling.exception() is not None:
            await _filled(filling)
        return await posting
    finally:
        for task in (posting, filling):
            if task is not None and not task.done():
                task.cancel()
        await asyncio.gather(
            *(t for t in (posting, filling) if t is not None), return_exceptions=True
        )
        spool.close()
        await whole.assembly.ranges.close()
        discard(whole.path)


async def _filled(filling: asyncio.Task[None]) -> None:
    try:
        await filling
    except (RemoteReadError, RuntimeError, OSError) as exc:
        raise DeliveryError(f"the source broke off while it was streamed: {exc}") from exc
