"""The `formats` and `download` commands: the downloaders from a terminal, no bot token needed."""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from mediabot.config import Settings
from mediabot.domain.enums import MediaKind
from mediabot.domain.media import MediaOptions
from mediabot.downloaders.errors import DownloadError
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import get_resolutions, make_downloader

EXIT_OK = 0
EXIT_REFUSED = 2


async def formats_command(settings: Settings, url: str) -> int:
    """Print the resolutions `url` offers with estimated sizes; 2 with a reason on refusal."""
    try:
        media = await get_resolutions(url, DownloadOptions.from_settings(settings))
    except DownloadError as exc:
        print(f"mediabot: {exc.user_message}", file=sys.stderr)
        return EXIT_REFUSED
    print(_describe(media))
    return EXIT_OK


async def download_command(
    settings: Settings, url: str, *, res: int | None, audio: bool, out_dir: Path
) -> int:
    """Download `url` into `out_dir` and print the paths of the files.

    `res` asks for a video at exactly that height, `audio` for sound only, neither for the
    best video (or a post's media). Files appear in `out_dir` only once complete.
    """
    if audio:
        downloader = make_downloader(
            url, 0, options=DownloadOptions.from_settings(settings), kind=MediaKind.AUDIO
        )
    else:
        downloader = make_downloader(
            url,
            res or 0,
            options=DownloadOptions.from_settings(settings),
            kind=None if res else MediaKind.VIDEO,
        )
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    staging = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix=".mediabot-", dir=out_dir))
    try:
        result = await downloader.download(staging)
        paths = [await asyncio.to_thread(_publish, item.path, out_dir) for item in result.items]
    except DownloadError as exc:
        print(f"mediabot: {exc.user_message}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, True)
    for path in paths:
        print(path)
    return EXIT_OK


def _describe(media: MediaOptions) -> str:
    lines = [f"{media.title}  [{media.media_key}]"]
    if media.duration_s:
        minutes, seconds = divmod(round(media.duration_s), 60)
        lines[0] += f"  {minutes}:{seconds:02d}"
    for resolution in media.resolutions:
        lines.append(f"{resolution.height}p  {_size(resolution.estimated_bytes)}")
    if media.has_audio:
        lines.append(f"audio  {_size(media.audio_estimated_bytes)}")
    if media.photo_count or media.is_collection:
        lines.append(f"post  {media.photo_count} photo(s)")
    return "\n".join(lines)


def _size(size: int | None) -> str:
    if size is None:
        return "size unknown"
    return f"~{size / 1_000_000:.1f} MB"


def _publish(path: Path, out_dir: Path) -> Path:
    target = out_dir / path.name
    number = 1
    while target.exists():
        number += 1
        target = out_dir / f"{path.stem} ({number}){path.suffix}"
    shutil.move(path, target)
    return target.resolve()
