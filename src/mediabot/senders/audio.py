"""An audio track that fits in one upload."""

from __future__ import annotations

import logging
from pathlib import Path

from aiogram import Bot

from mediabot.domain.media import DownloadResult, MediaItem
from mediabot.media.thumbnail import best_thumbnail
from mediabot.media.tools import discard
from mediabot.senders.base import (
    FileSender,
    PartCallback,
    Sender,
    SendOptions,
    SendTarget,
    SentPart,
    upload_of,
)
from mediabot.telegram.texts import plain

logger = logging.getLogger(__name__)

AUDIO_TAG_LIMIT = 256
"""Longest title or performer shown on an audio track (outside data, cleaned and cut)."""


class AudioSender(FileSender):
    """Sends one audio file with title, performer, duration and the cover as thumbnail."""

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        item: MediaItem,
        *,
        title: str,
        performer: str | None = None,
        cover: Path | None = None,
        on_part: PartCallback | None = None,
    ) -> None:
        super().__init__(bot, target, on_part=on_part)
        self._item = item
        self._title = title
        self._performer = performer
        self._cover = cover or item.thumbnail

    @classmethod
    def for_result(
        cls, bot: Bot, result: DownloadResult, target: SendTarget, options: SendOptions
    ) -> Sender:
        return cls(
            bot,
            target,
            result.items[0],
            title=result.title,
            performer=result.uploader,
            cover=result.items[0].thumbnail or result.thumbnail,
            on_part=options.on_part,
        )

    async def _send(self) -> list[SentPart]:
        item = self._item
        thumbnail = None
        if self._cover is not None:
            thumb_path = item.path.with_name(f"{item.path.stem}.tg-cover.jpg")
            thumbnail = await best_thumbnail(thumb_path, image=self._cover)
        try:
            message = await self._post_file(
                item.kind,
                self._input_file(item.path),
                caption=self._target.caption,
                reply=self._target.reply_parameters,
                title=plain(self._title, AUDIO_TAG_LIMIT) or None,
                performer=plain(self._performer, AUDIO_TAG_LIMIT) or None,
                duration_s=item.duration_s,
                thumbnail=upload_of(thumbnail),
            )
        finally:
            discard(thumbnail)
        return [await self._accepted(message, index=0, total=1, size_bytes=item.size_bytes)]
