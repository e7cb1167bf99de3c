"""A video that fits in one upload."""

from __future__ import annotations

import logging
from pathlib import Path

from aiogram import Bot

from mediabot.domain.media import DownloadResult, MediaItem
from mediabot.media.probe import ProbeError, probe
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

logger = logging.getLogger(__name__)


class VideoSender(FileSender):
    """Sends one video with its size, duration, streaming flag and a thumbnail.

    The thumbnail is the download's cover fitted to Telegram's rules, or a frame of the
    video; it is made next to the video and deleted once sent.
    """

    def __init__(
        self,
        bot: Bot,
        target: SendTarget,
        item: MediaItem,
        *,
        cover: Path | None = None,
        on_part: PartCallback | None = None,
    ) -> None:
        super().__init__(bot, target, on_part=on_part)
        self._item = item
        self._cover = cover or item.thumbnail

    @classmethod
    def for_result(
        cls, bot: Bot, result: DownloadResult, target: SendTarget, options: SendOptions
    ) -> Sender:
        return cls(
            bot,
            target,
            result.items[0],
            cover=result.items[0].thumbnail or result.thumbnail,
            on_part=options.on_part,
        )

    async def _send(self) -> list[SentPart]:
        item = self._item
        width, height, duration = item.width, item.height, item.duration_s
        if width is None or height is None or duration is None:
            width, height, duration = await _video_facts(item.path, width, height, duration)
        thumb_path = item.path.with_name(f"{item.path.stem}.tg-thumb.jpg")
        thumbnail = await best_thumbnail(thumb_path, image=self._cover, video=item.path)
        try:
            message = await self._post_file(
                item.kind,
                self._input_file(item.path),
                caption=self._target.caption,
                reply=self._target.reply_parameters,
                width=width,
                height=height,
                duration_s=duration,
                thumbnail=upload_of(thumbnail),
            )
        finally:
            discard(thumbnail)
        return [await self._accepted(message, index=0, total=1, size_bytes=item.size_bytes)]


async def _video_facts(
    path: Path, width: int | None, height: int | None, duration: float | None
) -> tuple[int | None, int | None, float | None]:
    """Fill in what the downloader did not report, from ffprobe."""
    try:
        info = await probe(path)
    except ProbeError as exc:
        logger.warning("cannot probe %s: %s", path.name, exc)
        return width, height, duration
    video = info.video
    return (
        width if width is not None else (video.width if video else None),
        height if height is not None else (video.height if video else None),
        duration if duration is not None else info.duration_s,
    )
