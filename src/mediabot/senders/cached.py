"""Resending media Telegram already has, by file id: no download, no upload."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

from mediabot.domain.enums import MediaKind
from mediabot.i18n import _
from mediabot.senders.album import album_sizes
from mediabot.senders.base import (
    PartCallback,
    Sender,
    SendTarget,
    SentPart,
    StaleFileIdError,
    input_media,
)

__all__ = ["CachedPart", "CachedSender", "StaleFileIdError", "is_stale_file_id"]

logger = logging.getLogger(__name__)

_STALE_MARKERS = ("wrong file identifier", "wrong remote file identifier", "file reference")
"""Phrases of Telegram's 400 answers for a file id it no longer accepts."""


@dataclass(frozen=True, slots=True)
class CachedPart:
    """A file Telegram holds, as recorded from an earlier delivery."""

    kind: MediaKind
    file_id: str
    file_unique_id: str = ""
    size_bytes: int | None = None
    start_s: float | None = None
    end_s: float | None = None
    duration_s: float | None = None
    width: int | None = None
    height: int | None = None


def is_stale_file_id(error: TelegramBadRequest) -> bool:
    """True when a 400 answer says the file id (or its file reference) is no longer valid."""
    text = error.message.lower()
    return any(marker in text for marker in _STALE_MARKERS)


class CachedSender(Sender):
    """Sends recorded file ids again, in the shape of the first delivery.

    Parts of a split file (they have a time range) go one by one with "Part i/N";
    several parts without time ranges go as albums; one part goes alone. A file id
    Telegram refuses raises `StaleFileIdError`, so the caller downloads afresh.
    """

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        parts: Sequence[CachedPart],
        *,
        as_album: bool | None = None,
        on_part: PartCallback | None = None,
    ) -> None:
        super().__init__(bot, target, on_part=on_part)
        if not parts:
            raise ValueError("nothing cached to send")
        self._parts = tuple(parts)
        split = any(part.start_s is not None for part in self._parts)
        self._as_album = as_album if as_album is not None else len(parts) > 1 and not split

    async def _send(self) -> list[SentPart]:
        sent: list[SentPart] = []
        try:
            if self._as_album:
                await self._send_albums(sent)
            else:
                await self._send_each(sent)
        except TelegramBadRequest as exc:
            if is_stale_file_id(exc):
                logger.info("cached file refused by Telegram: %s", exc.message)
                raise StaleFileIdError(
                    "Telegram no longer accepts a cached file", tuple(sent)
                ) from exc
            raise
        return sent

    async def _send_each(self, sent: list[SentPart]) -> None:
        total = len(self._parts)
        for index, part in enumerate(self._parts):
            caption = self._target.caption
            if total > 1:
                caption = self._target.caption_with(
                    _("Part {number}/{total}").format(number=index + 1, total=total)
                )
            message = await self._post_one(part, caption, first=index == 0)
            sent.append(await self._record(message, part, index, total))

    async def _send_albums(self, sent: list[SentPart]) -> None:
        total = len(self._parts)
        offset = 0
        for size in album_sizes(total):
            chunk = self._parts[offset : offset + size]
            caption = self._target.caption if offset == 0 else None
            if size == 1:
                messages = [await self._post_one(chunk[0], caption, first=offset == 0)]
            else:
                messages = await self._bot.send_media_group(
                    chat_id=self._target.chat_id,
                    media=[
                        input_media(part.kind, part.file_id, caption if position == 0 else None)
                        for position, part in enumerate(chunk)
                    ],
                    reply_parameters=self._target.reply_parameters if offset == 0 else None,
                    message_thread_id=self._target.message_thread_id,
                )
            for position, (part, message) in enumerate(zip(chunk, messages, strict=True)):
                sent.append(await self._record(message, part, offset + position, total))
            offset += size

    async def _post_one(self, part: CachedPart, caption: str | None, *, first: bool) -> Message:
        return await self._post_file(
            part.kind,
            part.file_id,
            caption=caption,
            reply=self._target.reply_parameters if first else None,
            width=part.width,
            height=part.height,
            duration_s=part.duration_s,
        )

    async def _record(self, message: Message, part: CachedPart, index: int, total: int) -> SentPart:
        return await self._accepted(
            message,
            index=index,
            total=total,
            size_bytes=part.size_bytes or 0,
            start_s=part.start_s,
            end_s=part.end_s,
        )
