"""ffprobe facts about a downloaded file, and the rare re-encode to H.264/AAC.

Both run as asyncio subprocesses, so they never block the event loop and are killed when
the awaiting task is cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from mediabot.downloaders.errors import DownloadError
from mediabot.media.probe import ProbeError
from mediabot.media.probe import probe as probe_media
from mediabot.media.tools import FFMPEG, MediaToolError, run_tool

logger = logging.getLogger(__name__)

PLAYABLE_VIDEO_CODECS = frozenset({"h264"})
PLAYABLE_AUDIO_CODECS = frozenset({"aac"})


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What ffprobe says about a media file; codec names are ffprobe's (`h264`, `aac`...)."""

    duration_s: float | None = None
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None

    @property
    def playable_everywhere(self) -> bool:
        """H.264 video with AAC audio (or none): plays inline on every Telegram client."""
        return self.video_codec in PLAYABLE_VIDEO_CODECS and (
            self.audio_codec is None or self.audio_codec in PLAYABLE_AUDIO_CODECS
        )


async def probe(path: Path) -> FileFacts:
    """ffprobe `path`; a file ffprobe cannot read yields empty facts, logged."""
    try:
        info = await probe_media(path)
    except ProbeError as exc:
        cause = exc.__cause__
        if isinstance(cause, MediaToolError) and cause.returncode is None:
            raise DownloadError(detail=str(cause)) from exc  # ffprobe is not installed
        logger.warning("%s", exc)
        return FileFacts()
    # Cover art in audio files shows up as a video stream; `info.video` skips it.
    video, audio = info.video, info.audio
    return FileFacts(
        duration_s=info.duration_s,
        width=video.width if video else None,
        height=video.height if video else None,
        video_codec=video.codec_name if video else None,
        audio_codec=audio.codec_name if audio else None,
    )


async def reencode_to_h264(source: Path, facts: FileFacts) -> Path:
    """Re-encode `source` to H.264/AAC MP4 next to it, copying streams that already play.

    Returns the new file and removes the source; raises `DownloadError` when ffmpeg fails.
    """
    target = source.with_name(source.stem + ".h264.mp4")
    video_args = ["-c:v", "copy"] if facts.video_codec in PLAYABLE_VIDEO_CODECS else [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
    ]  # fmt: skip
    audio_args = ["-c:a", "copy"] if facts.audio_codec in PLAYABLE_AUDIO_CODECS else [
        "-c:a", "aac", "-b:a", "160k",
    ]  # fmt: skip
    logger.warning(
        "Re-encoding %s (video %s, audio %s): the source offers no H.264/AAC combination",
        source.name,
        facts.video_codec,
        facts.audio_codec,
    )
    try:
        await run_tool([
            FFMPEG, "-nostdin", "-y", "-v", "error", "-i", str(source),
            "-map", "0:v:0", "-map", "0:a:0?", *video_args, *audio_args,
            "-movflags", "+faststart", str(target),
        ])  # fmt: skip
    except MediaToolError as exc:
        target.unlink(missing_ok=True)
        raise DownloadError(detail=f"ffmpeg could not re-encode {source.name}: {exc}") from exc
    await asyncio.to_thread(source.unlink, missing_ok=True)
    return target
