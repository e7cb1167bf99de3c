"""Deliveries into a message posted through an inline result (`@bot <link>` in any chat).

Telegram takes no upload into an inline message: a fresh file is uploaded to the storage
chat by the sender of its kind, then the inline message is edited into it by file id. A
cached delivery is put there by its file ids alone. A delivery of more than one file (over
the upload limit) cannot fit one message: the message then says so, with a link to the
private chat with the bot, which sends the parts there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from mediabot.domain.enums import MediaKind
from mediabot.senders.base import (
    InlinePlace,
    PartCallback,
    SendTarget,
    SentPart,
    StaleFileIdError,
    input_media,
)
from mediabot.senders.cached import CachedPart, is_stale_file_id

__all__ = ["InlineCachedSender", "InlineSender", "put_in_inline_message"]

logger = logging.getLogger(__name__)

_EDITABLE = frozenset({MediaKind.VIDEO, MediaKind.AUDIO})
"""What an inline message posted as text can be edited into (a video or an audio)."""


class _Upload(Protocol):
    """What `InlineSender` wraps: any sender of the senders family."""

    async def send(self) -> Sequence[SentPart]: ...


async def put_in_inline_message(
    bot: Bot, target: SendTarget, parts: Sequence[SentPart | CachedPart]
) -> bool:
    """Edit the inline message into the delivery's one file; True when it was.

    More than one file (or a kind an inline message cannot become) leaves the message
    saying so, with the link to the private chat; False then.
    """
    place = target.inline
    assert place is not None
    if len(parts) == 1 and parts[0].kind in _EDITABLE:
        part = parts[0]
        await bot.edit_message_media(
            inline_message_id=place.message_id,
            media=input_media(part.kind, part.file_id, target.caption or None),
        )
        return True
    logger.info(
        "inline message %s: %d files, sent to the private chat", place.message_id, len(parts)
    )
    await point_to_private_chat(bot, place)
    return False


async def point_to_private_chat(bot: Bot, place: InlinePlace) -> None:
    """The inline message says the delivery does not fit it, with the private chat's link."""
    await bot.edit_message_text(
        text=place.too_large_text,
        inline_message_id=place.message_id,
        reply_markup=_private_chat_keyboard(place),
        parse_mode=ParseMode.HTML,
    )


def _private_chat_keyboard(place: InlinePlace) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=place.private_button, url=place.private_link)]]
    )


class InlineSender:
    """Uploads to the storage chat (through `upload`), then puts the file in the inline
    message. The parts are those of the upload: the storage chat's file ids, the cache."""

    def __init__(self, bot: Bot, target: SendTarget, upload: _Upload) -> None:
        self._bot = bot
        self._target = target
        self._upload = upload

    async def send(self) -> Sequence[SentPart]:
        parts = await self._upload.send()
        # A resumed delivery returns only this run's parts: the message becomes a file only
        # when the whole delivery is that one file, never the last part of several.
        if len(parts) == 1 and parts[0].index == 0 and parts[0].total == 1:
            await put_in_inline_message(self._bot, self._target, parts)
        else:
            assert self._target.inline is not None
            logger.info(
                "inline message %s: a delivery of %s file(s), sent to the private chat",
                self._target.inline.message_id,
                parts[-1].total if parts else "its recorded",
            )
            await point_to_private_chat(self._bot, self._target.inline)
        return parts


class InlineCachedSender:
    """Puts an earlier delivery in the inline message by its file ids: nothing is sent to
    any chat. `StaleFileIdError` when Telegram no longer accepts a file id."""

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        parts: Sequence[CachedPart],
        *,
        on_part: PartCallback | None = None,
    ) -> None:
        if not parts:
            raise ValueError("nothing cached to send")
        self._bot = bot
        self._target = target
        self._parts = tuple(parts)
        self._on_part = on_part

    async def send(self) -> Sequence[SentPart]:
        try:
            await put_in_inline_message(self._bot, self._target, self._parts)
        except TelegramBadRequest as exc:
            if is_stale_file_id(exc):
                logger.info("cached file refused in an inline message: %s", exc.message)
                raise StaleFileIdError("Telegram no longer accepts a cached file", ()) from exc
            raise
        total = len(self._parts)
        # An inline message has no id in any chat: 0.
        sent = [part.sent_as(index, total, 0) for index, part in enumerate(self._parts)]
        for part in sent:
            if self._on_part is not None:
                await self._on_part(part)
        return sent
