"""The upload line both part senders share: parts made ahead, posted in order.

A sender hands over the parts it makes as an async generator, in order; the line pulls the
next one only while fewer than `on_disk` made parts are not yet posted and released, so
making a part overlaps the upload of the one before it. A part Telegram refuses as too
large (413) ends the line and is handed back, for the sender to plan again from it under
`limit_after_refused(...)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Protocol, TypeVar

from aiogram.exceptions import TelegramEntityTooLarge
from aiogram.types import Message

from mediabot.media.parts import CutPart
from mediabot.senders.base import DeliveryError

logger = logging.getLogger(__name__)

SHRINK_ON_413 = 0.85
"""After a 413 the limit drops to this share of the refused file's size."""


class MadePart(Protocol):
    """A part made for upload, holding disk (and maybe a task) until released."""

    @property
    def part(self) -> CutPart: ...

    async def release(self) -> None:
        """Stop whatever still makes the part and delete what it holds on disk."""


_Made = TypeVar("_Made", bound=MadePart)


def shrunk_limit(limit_bytes: int, refused_bytes: int) -> int:
    """The byte limit to plan with once Telegram refused `refused_bytes` as too large
    under `limit_bytes`: always lower than both."""
    return min(limit_bytes - 1, int(refused_bytes * SHRINK_ON_413))


def limit_after_refused(limit_bytes: int, part: CutPart) -> int:
    """`shrunk_limit` after Telegram refused `part` as too large, logged."""
    smaller = shrunk_limit(limit_bytes, part.size_bytes)
    logger.warning(
        "Telegram refused part %d (%d bytes) as too large; limit now %d bytes",
        part.index,
        part.size_bytes,
        smaller,
    )
    return smaller


async def upload_parts(
    made: AsyncGenerator[_Made, None],
    *,
    on_disk: int,
    post: Callable[[_Made], Awaitable[Message]],
    accept: Callable[[_Made, Message], Awaitable[None]],
) -> _Made | None:
    """Post each part `made` yields, in order, and `accept` it once Telegram has.

    The next part is pulled from `made` only while fewer than `on_disk` are made and not
    yet released. Each part is released exactly once: after its post (accepted or not),
    or, left over, when the line ends. An error making a part is raised once the parts
    before it are posted; `DeliveryError` when `made` ends before a part marked last.
    Returns None once the last part is accepted, or the part Telegram refused as too
    large (already released). `made` is closed on the way out.
    """
    slots = asyncio.Semaphore(on_disk)
    ready: asyncio.Queue[_Made | Exception] = asyncio.Queue()
    live: list[_Made] = []
    producer = asyncio.create_task(_pull(made, slots, ready, live))
    try:
        while True:
            item = await ready.get()
            if isinstance(item, Exception):
                raise item
            try:
                message = await post(item)
            except TelegramEntityTooLarge:
                return item
            finally:
                live.remove(item)
                await item.release()
                slots.release()
            await accept(item, message)
            if item.part.is_last:
                return None
    finally:
        producer.cancel()
        await asyncio.gather(producer, return_exceptions=True)
        try:
            await made.aclose()
        finally:
            for leftover in live:
                await leftover.release()


async def _pull(
    made: AsyncGenerator[_Made, None],
    slots: asyncio.Semaphore,
    ready: asyncio.Queue[_Made | Exception],
    live: list[_Made],
) -> None:
    """Take the parts from `made` into `ready` (and `live`), each once a slot is free,
    up to the last; an error goes to `ready` in its place, for the consumer to raise."""
    try:
        while True:
            await slots.acquire()
            try:
                item = await anext(made)
            except StopAsyncIteration:
                raise DeliveryError("the parts ended before the last one was made") from None
            live.append(item)
            ready.put_nowait(item)
            if item.part.is_last:
                return
    except Exception as exc:  # handed to the consumer, which raises it in order
        ready.put_nowait(exc)
