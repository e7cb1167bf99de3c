"""Downloads made of files on disk, as the senders receive them, and what they leave behind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from aiogram import Bot

from mediabot.domain.enums import MediaKind, Provider
from mediabot.domain.media import DownloadResult, MediaItem
from mediabot.downloaders.streams import StreamPlan
from mediabot.senders.base import SendTarget
from mediabot.senders.large import LargeSender
from mediabot.senders.registry import make_stream_sender


def copy_into(source: Path, folder: Path, name: str | None = None) -> Path:
    """A copy of the bench's media in `folder`: a sender deletes what it sends."""
    target = folder / (name or source.name)
    shutil.copyfile(source, target)
    return target


def make_jpeg(path: Path, size: str = "800x600", color: str = "red") -> Path:
    """A one-colour JPEG made with ffmpeg."""
    subprocess.run(
        [
            *("ffmpeg", "-v", "error", "-y", "-f", "lavfi"),
            *("-i", f"color=c={color}:s={size}:d=1", "-frames:v", "1", str(path)),
        ],
        check=True,
    )
    return path


def result_of(
    *items: MediaItem,
    kind: MediaKind,
    title: str = "A title",
    source_url: str = "https://example.com/watch?v=1&x=<2>",
    uploader: str = "Someone",
) -> DownloadResult:
    """A generic site's download of `items`; the URL holds characters HTML must escape."""
    return DownloadResult(
        items=items,
        kind=kind,
        provider=Provider.GENERIC,
        media_key="generic:test",
        source_url=source_url,
        title=title,
        uploader=uploader,
    )


def item_of(path: Path, kind: MediaKind, **facts: object) -> MediaItem:
    """The file at `path` as a download's item, with its size and any other `facts`."""
    return MediaItem(path=path, kind=kind, size_bytes=path.stat().st_size, **facts)  # type: ignore[arg-type]


def target_for(result: DownloadResult, reply_to_message_id: int = 5) -> SendTarget:
    """Chat 77, replying to `reply_to_message_id`, captioned with the result's title and link."""
    return SendTarget.for_media(
        77, result.title, result.source_url, reply_to_message_id=reply_to_message_id
    )


def stream_sender(
    bot: Bot, plan: StreamPlan, work_dir: Path, limit_bytes: int, **options: Any
) -> LargeSender:
    """The split delivery of `plan`'s streams to chat 77, titled and captioned from it."""
    return make_stream_sender(
        bot,
        plan.source,
        SendTarget.for_media(77, plan.title, plan.source_url),
        work_dir=work_dir,
        limit_bytes=limit_bytes,
        title=plan.title,
        **options,
    )
