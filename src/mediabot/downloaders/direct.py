"""Facts about a direct media link that yt-dlp's generic extractor cannot tell.

For a plain `https://host/file.mp4`, yt-dlp knows neither height nor codecs, so neither the
resolution list nor the exact-height rule could work. The first bytes are streamed through
the guarded YoutubeDL into ffprobe's stdin, so the private-network guard still applies
(ffprobe never opens a URL itself).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
from typing import Any

from mediabot.downloaders.errors import NotMediaError
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.ytdl import YtdlSession

logger = logging.getLogger(__name__)

_PROBE_BYTES_LIMIT = 32 * 1024 * 1024
_CODEC_TAGS = {"h264": "avc1", "hevc": "hvc1", "aac": "mp4a.40.2"}


def describe_direct_formats(session: YtdlSession, info: InfoDict) -> None:
    """Fill height, width, codecs and duration of direct-file formats in place (blocking).

    Raises `NotMediaError` when ffprobe finds no video or audio stream in a direct file
    (an HTML page, an archive, an empty file, whatever its Content-Type says).
    """
    if not info.get("direct"):
        return
    for fmt in info.get("formats") or []:
        if fmt.get("height"):
            continue
        if fmt.get("protocol") not in ("http", "https"):
            continue
        facts, length = _ffprobe_stream(session, fmt["url"])
        if length and not fmt.get("filesize"):
            fmt["filesize"] = length
        if facts is None:
            continue
        video = _first_stream(facts, "video")
        audio = _first_stream(facts, "audio")
        if video is None and audio is None:
            raise NotMediaError(detail=f"ffprobe found no audio or video in {fmt['url']}")
        if video is not None:
            fmt["width"] = video.get("width")
            fmt["height"] = video.get("height")
            fmt["vcodec"] = _codec_tag(video)
        else:
            fmt["vcodec"] = "none"
        fmt["acodec"] = _codec_tag(audio) if audio else "none"
        duration = facts.get("format", {}).get("duration")
        if duration and not info.get("duration"):
            with contextlib.suppress(ValueError):
                info["duration"] = float(duration)
        logger.debug(
            "Direct file %s: %sp %s/%s", fmt["url"], fmt.get("height"), fmt["vcodec"], fmt["acodec"]
        )


def _codec_tag(stream: dict[str, Any]) -> str | None:
    """yt-dlp's codec naming (`avc1`, `mp4a...`) for an ffprobe stream, so selectors match."""
    name = stream.get("codec_name")
    return _CODEC_TAGS.get(name, name) if isinstance(name, str) else None


def _first_stream(facts: dict[str, Any], codec_type: str) -> dict[str, Any] | None:
    for stream in facts.get("streams", []):
        if stream.get("codec_type") == codec_type and not stream.get("disposition", {}).get(
            "attached_pic"
        ):
            return dict(stream)
    return None


def _ffprobe_stream(session: YtdlSession, url: str) -> tuple[dict[str, Any] | None, int | None]:
    """ffprobe's JSON for the stream at `url`, and the Content-Length the server sent.

    The JSON is None when ffprobe is not installed, `{}` when it read the file and found
    nothing it knows.
    """
    executable = shutil.which("ffprobe")
    if executable is None:
        logger.warning("ffprobe is not installed; direct links get no resolution list")
        return None, None
    process = subprocess.Popen(
        [
            executable,
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            "-i",
            "pipe:0",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None
    headers: dict[str, str] = {}
    try:
        sent = 0
        with session.open() as ydl:
            for chunk in session.fetch(ydl, url, on_headers=headers.update):
                try:
                    process.stdin.write(chunk)
                except BrokenPipeError:
                    break  # ffprobe has read enough
                sent += len(chunk)
                if sent >= _PROBE_BYTES_LIMIT:
                    break
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        assert process.stdout is not None
        stdout = process.stdout.read()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    length_text = headers.get("Content-Length") or headers.get("content-length") or ""
    length = int(length_text) if length_text.isdigit() else None
    if process.returncode != 0 or not stdout:
        logger.info("ffprobe could not describe %s", url)
        return {}, length  # read, and not media: no streams
    return dict(json.loads(stdout)), length
