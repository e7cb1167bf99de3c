"""ffprobe facts about a downloaded file, and the rare re-encode to H.264/AAC.

Both run as asyncio subprocesses, so they never block the event loop and are killed when
the awaiting task is cancelled.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from mediabot.downloaders.errors import DownloadError

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
    output = await _run(
        "ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
        str(path),
    )  # fmt: skip
    if output is None:
        return FileFacts()
    data = json.loads(output or b"{}")
    streams = data.get("streams", [])
    # Cover art in audio files shows up as a video stream; it is not video.
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = data.get("format", {}).get("duration")
    return FileFacts(
        duration_s=float(duration) if duration not in (None, "N/A") else None,
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
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
    output = await _run(
        "ffmpeg", "-nostdin", "-y", "-v", "error", "-i", str(source),
        "-map", "0:v:0", "-map", "0:a:0?", *video_args, *audio_args,
        "-movflags", "+faststart", str(target),
    )  # fmt: skip
    if output is None:
        target.unlink(missing_ok=True)
        raise DownloadError(detail=f"ffmpeg could not re-encode {source.name}")
    await asyncio.to_thread(source.unlink, missing_ok=True)
    return target


async def _run(program: str, *args: str) -> bytes | None:
    """Run `program`; its stdout, or None when it fails. Killed if the caller is cancelled."""
    executable = shutil.which(program)
    if executable is None:
        raise DownloadError(detail=f"{program} is not installed")
    process = await asyncio.create_subprocess_exec(
        executable,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await process.communicate()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        logger.warning(
            "%s failed with exit code %s: %s",
            program,
            process.returncode,
            stderr.decode(errors="replace")[-500:],
        )
        return None
    return stdout
