"""A download's one file in one upload: the template the audio, video and photo senders share."""

from __future__ import annotations

from pathlib import Path

from aiogram import Bot

from mediabot.domain.media import DownloadResult
from mediabot.media.tools import discard
from mediabot.senders.base import (
    FileSender,
    FileTags,
    PartCallback,
    Sender,
    SendOptions,
    SendTarget,
    SentPart,
    upload_of,
)


class SingleFileSender(FileSender):
    """Sends the first file of a download, which fits in one upload, as one message.

    `_thumbnail()` makes the thumbnail, if the kind has one (from `_cover`: the item's own
    image, else the download's); it is deleted once the file is sent or refused.
    """

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        result: DownloadResult,
        *,
        on_part: PartCallback | None = None,
    ) -> None:
        super().__init__(bot, target, on_part=on_part)
        self._result = result
        self._item = result.items[0]
        self._cover = self._item.thumbnail or result.thumbnail

    @classmethod
    def for_result(
        cls, bot: Bot, result: DownloadResult, target: SendTarget, options: SendOptions
    ) -> Sender:
        return cls(bot, target, result, on_part=options.on_part)

    async def _send(self) -> list[SentPart]:
        item = self._item
        thumbnail = await self._thumbnail()
        try:
            message = await self._post_file(
                item.kind,
                self._input_file(item.path),
                caption=self._target.caption,
                reply=self._target.reply_parameters,
                thumbnail=upload_of(thumbnail),
                **await self._tags(),
            )
        finally:
            discard(thumbnail)
        return [await self._accepted(message, index=0, total=1, size_bytes=item.size_bytes)]

    async def _thumbnail(self) -> Path | None:
        """The thumbnail made for the file; by default none."""
        return None

    async def _tags(self) -> FileTags:
        """What the file carries besides its caption and thumbnail; by default nothing."""
        return {}
