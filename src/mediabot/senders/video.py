"""A video that fits in one upload."""

from __future__ import annotations

import logging
from pathlib import Path

from mediabot.media.probe import ProbeError, probe
from mediabot.media.thumbnail import best_thumbnail
from mediabot.senders.base import FileTags
from mediabot.senders.single import SingleFileSender

logger = logging.getLogger(__name__)


class VideoSender(SingleFileSender):
    """Sends one video with its size, duration, streaming flag and a thumbnail.

    The thumbnail is the download's cover fitted to Telegram's rules, or a frame of the
    video; it is made next to the video and deleted once sent.
    """

    async def _thumbnail(self) -> Path | None:
        path = self._item.path
        thumb_path = path.with_name(f"{path.stem}.tg-thumb.jpg")
        return await best_thumbnail(thumb_path, image=self._cover, video=path)

    async def _tags(self) -> FileTags:
        item = self._item
        width, height, duration = item.width, item.height, item.duration_s
        if width is None or height is None or duration is None:
            width, height, duration = await _video_facts(item.path, width, height, duration)
        return {"width": width, "height": height, "duration_s": duration}


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
