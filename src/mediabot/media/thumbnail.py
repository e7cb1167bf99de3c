"""Thumbnails Telegram accepts: JPEG, at most 320 px on each side, under 200 kB."""

from __future__ import annotations

import logging
from pathlib import Path

from mediabot.media.tools import FFMPEG, MediaToolError, discard, run_tool

logger = logging.getLogger(__name__)

MAX_SIDE_PX = 320
MAX_BYTES = 200 * 1024
_QUALITIES = (4, 8, 14, 24, 31)
"""ffmpeg's JPEG quality scale (2 best .. 31 worst), tried in order until the file fits."""
_SCALE = (
    f"scale='min({MAX_SIDE_PX},iw)':'min({MAX_SIDE_PX},ih)'"
    ":force_original_aspect_ratio=decrease,format=yuvj420p"
)


class ThumbnailError(Exception):
    """No thumbnail could be made from the given media or image."""


async def video_thumbnail(video: str | Path, out: Path, *, at_s: float = 1.0) -> Path:
    """Write a thumbnail of the frame near `at_s` of `video` to `out` (a .jpg path).

    Falls back to the first frame when the video is shorter than `at_s`.
    """
    try:
        return await _write(["-ss", f"{at_s:.3f}", "-i", str(video)], out)
    except ThumbnailError:
        if at_s <= 0:
            raise
        return await _write(["-i", str(video)], out)


async def fit_thumbnail(image: Path, out: Path) -> Path:
    """Re-encode an existing cover or thumbnail image to fit Telegram's rules."""
    return await _write(["-i", str(image)], out)


async def _write(input_args: list[str], out: Path) -> Path:
    for quality in _QUALITIES:
        args = [
            FFMPEG,
            "-v",
            "error",
            "-nostdin",
            "-y",
            *input_args,
            "-frames:v",
            "1",
            "-vf",
            _SCALE,
            "-q:v",
            str(quality),
            "-f",
            "mjpeg",
            str(out),
        ]
        try:
            await run_tool(args)
        except MediaToolError as exc:
            raise ThumbnailError(str(exc)) from exc
        size = _size(out)
        if size == 0:
            raise ThumbnailError("the input has no frame at that point")
        if size < MAX_BYTES:
            return out
    discard(out)
    raise ThumbnailError("no frame could be written as a thumbnail under 200 kB")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def best_thumbnail(
    out: Path, *, image: Path | None = None, video: str | Path | None = None
) -> Path | None:
    """A Telegram-ready thumbnail at `out`: from `image` if given, else a frame of `video`.

    Returns None (and logs why) when neither works: a thumbnail is never worth failing
    a delivery for.
    """
    if image is not None:
        try:
            return await fit_thumbnail(image, out)
        except ThumbnailError as exc:
            logger.warning("cover %s unusable as a thumbnail: %s", image.name, exc)
    if video is not None:
        try:
            return await video_thumbnail(video, out)
        except ThumbnailError as exc:
            logger.warning("no thumbnail from the video: %s", exc)
    return None
