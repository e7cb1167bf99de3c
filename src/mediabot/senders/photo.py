"""A single photo."""

from __future__ import annotations

import logging

from aiogram import Bot

from mediabot.domain.media import DownloadResult, MediaItem
from mediabot.senders.base import (
    FileSender,
    PartCallback,
    Sender,
    SendOptions,
    SendTarget,
    SentPart,
)

logger = logging.getLogger(__name__)


class PhotoSender(FileSender):
    """Sends one photo with the caption."""

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        item: MediaItem,
        *,
        on_part: PartCallback | None = None,
    ) -> None:
        super().__init__(bot, target, on_part=on_part)
        self._item = item

    @classmethod
    def for_result(
        cls, bot: Bot, result: DownloadResult, target: SendTarget, options: SendOptions
    ) -> Sender:
        return cls(bot, target, result.items[0], on_part=options.on_part)

    async def _send(self) -> list[SentPart]:
        message = await self._post_file(
            self._item.kind,
            self._input_file(self._item.path),
            caption=self._target.caption,
            reply=self._target.reply_parameters,
        )
        return [await self._accepted(message, index=0, total=1, size_bytes=self._item.size_bytes)]
