"""Several items at once (an Instagram carousel): albums of 2 to 10 per message."""

from __future__ import annotations

import math
from collections.abc import Sequence

from aiogram import Bot
from aiogram.types import Message

from mediabot.domain.media import DownloadResult, MediaItem
from mediabot.senders.base import (
    FileSender,
    InputMedia,
    PartCallback,
    Sender,
    SendOptions,
    SendTarget,
    SentPart,
    input_media,
)

ALBUM_MAX = 10
"""Telegram's largest album (sendMediaGroup)."""


def album_sizes(count: int) -> list[int]:
    """Split `count` items into as few albums as possible, each of 2..10 items.

    Sizes are balanced (11 -> 6 + 5), so no album is left with a single item; one item
    alone is the only case of size 1.
    """
    if count <= 0:
        return []
    albums = math.ceil(count / ALBUM_MAX)
    base, extra = divmod(count, albums)
    return [base + 1 if i < extra else base for i in range(albums)]


class AlbumSender(FileSender):
    """Sends items as albums; the caption goes on the first item of the first album.

    A single item is sent on its own (`sendPhoto`/`sendVideo`/`sendAudio`), since an
    album needs at least two.
    """

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        items: Sequence[MediaItem],
        *,
        on_part: PartCallback | None = None,
    ) -> None:
        super().__init__(bot, target, on_part=on_part)
        self._items = tuple(items)

    @classmethod
    def for_result(
        cls, bot: Bot, result: DownloadResult, target: SendTarget, options: SendOptions
    ) -> Sender:
        return cls(bot, target, result.items, on_part=options.on_part)

    async def _send(self) -> list[SentPart]:
        total = len(self._items)
        sent: list[SentPart] = []
        offset = 0
        for size in album_sizes(total):
            chunk = self._items[offset : offset + size]
            messages = await self._post(chunk, with_caption=offset == 0)
            for position, (item, message) in enumerate(zip(chunk, messages, strict=True)):
                sent.append(
                    await self._accepted(
                        message, index=offset + position, total=total, size_bytes=item.size_bytes
                    )
                )
            offset += size
        return sent

    async def _post(self, chunk: Sequence[MediaItem], *, with_caption: bool) -> list[Message]:
        caption = self._target.caption if with_caption else None
        if len(chunk) == 1:
            return [await self._post_one(chunk[0], caption)]
        media = [
            self._input_media(item, caption if position == 0 else None)
            for position, item in enumerate(chunk)
        ]
        return await self._bot.send_media_group(
            chat_id=self._target.chat_id,
            media=list(media),
            reply_parameters=self._target.reply_parameters,
            message_thread_id=self._target.message_thread_id,
        )

    async def _post_one(self, item: MediaItem, caption: str | None) -> Message:
        return await self._post_file(
            item.kind,
            self._input_file(item.path),
            caption=caption,
            reply=self._target.reply_parameters,
            width=item.width,
            height=item.height,
            duration_s=item.duration_s,
        )

    def _input_media(self, item: MediaItem, caption: str | None) -> InputMedia:
        return input_media(
            item.kind,
            self._input_file(item.path),
            caption,
            width=item.width,
            height=item.height,
            duration_s=item.duration_s,
        )
