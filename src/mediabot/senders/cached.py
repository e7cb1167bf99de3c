"""Resending media Telegram already has, by file id: no download, no upload."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InputMediaDocument, Message

from mediabot.domain.enums import MediaKind
from mediabot.i18n import _
from mediabot.senders.album import album_sizes
from mediabot.senders.base import (
    DeliveryError,
    InputMedia,
    PartCallback,
    Sender,
    SendTarget,
    SentPart,
    StaleFileIdError,
    input_media,
)

__all__ = ["CachedPart", "CachedSender", "StaleFileIdError", "is_stale_file_id"]

logger = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"
"""Telegram's 400 answer to an edit that would change nothing: the message is that already."""

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

    def sent_as(self, index: int, total: int, message_id: int) -> SentPart:
        """This file as part `index` of `total` of a delivery, in message `message_id`."""
        return SentPart(
            index=index,
            total=total,
            kind=self.kind,
            file_id=self.file_id,
            file_unique_id=self.file_unique_id,
            message_id=message_id,
            size_bytes=self.size_bytes or 0,
            start_s=self.start_s,
            end_s=self.end_s,
        )


def is_stale_file_id(error: TelegramBadRequest) -> bool:
    """True when a 400 answer says the file id (or its file reference) is no longer valid."""
    text = error.message.lower()
    return any(marker in text for marker in _STALE_MARKERS)


class CachedSender(Sender):
    """Sends recorded file ids again, in the shape of the first delivery.

    Parts of a split file (they have a time range) go one by one with "Part i/N";
    several parts without time ranges go as albums; one part goes alone. A file id
    Telegram refuses raises `StaleFileIdError`, so the caller downloads afresh.

    With `into` (a text message of the bot's in the target chat, e.g. the offer's keyboard),
    a delivery of one file edits that message into the file instead of sending a new one:
    the message keeps what it replies to and its topic, and loses its buttons. Where
    Telegram refuses the edit (the message is gone, too old, not the bot's) the file is sent
    as a new message instead, once; an edit answered "not modified" found the file there
    already (an earlier attempt's edit), and counts as the delivery.
    """

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        parts: Sequence[CachedPart],
        *,
        as_album: bool | None = None,
        on_part: PartCallback | None = None,
        into: int | None = None,
    ) -> None:
        super().__init__(bot, target, on_part=on_part)
        if not parts:
            raise ValueError("nothing cached to send")
        self._parts = tuple(parts)
        self._into = into
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
        if total == 1 and self._into is not None and await self._edit_into(self._into, sent):
            return
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

    async def _edit_into(self, message_id: int, sent: list[SentPart]) -> bool:
        """Edit message `message_id` into the one file (recorded in `sent`); False when
        Telegram refuses the edit for anything but the file id (`TelegramBadRequest` then)."""
        part = self._parts[0]
        try:
            edited = await self._bot.edit_message_media(
                chat_id=self._target.chat_id,
                message_id=message_id,
                media=self._edit_media(part),
            )
        except TelegramBadRequest as exc:
            if is_stale_file_id(exc):
                raise
            if _NOT_MODIFIED in exc.message.lower():
                logger.info("message %d holds the cached file already", message_id)
                sent.append(part.sent_as(0, 1, message_id))
                if self._on_part is not None:
                    await self._on_part(sent[-1])
                return True
            logger.info("message %d not edited into the file (%s); sending it", message_id, exc)
            return False
        if not isinstance(edited, Message):
            raise DeliveryError("Telegram answered an edit of a chat's message without it")
        sent.append(await self._record(edited, part, 0, 1))
        return True

    def _edit_media(self, part: CachedPart) -> InputMedia | InputMediaDocument:
        """The one file as an edit puts it in a message: in the form it was sent in."""
        caption = self._target.caption or None
        if self._as_documents:
            return InputMediaDocument(
                media=part.file_id,
                caption=caption,
                parse_mode=ParseMode.HTML if caption else None,
                disable_content_type_detection=True,
            )
        return input_media(
            part.kind,
            part.file_id,
            caption,
            width=part.width,
            height=part.height,
            duration_s=part.duration_s,
        )

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
