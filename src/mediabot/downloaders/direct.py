"""Facts about a direct media link that yt-dlp's generic extractor cannot tell.

For a plain `https://host/file.mp4`, yt-dlp knows neither height nor codecs, so neither the
resolution list nor the exact-height rule could work. The first bytes are streamed through
the guarded YoutubeDL into ffprobe's stdin, so the private-network guard still applies
(ffprobe never opens a URL itself).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess

from mediabot.downloaders.errors import NotMediaError
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.ytdl import YtdlSession
from mediabot.media.probe import (
    MediaInfo,
    ProbeError,
    StreamInfo,
    parse_probe_output,
    probe_command,
)

logger = logging.getLogger(__name__)

_PROBE_BYTES_LIMIT = 32 * 1024 * 1024
_NOT_MEDIA = MediaInfo(
    source="", format_name="", duration_s=None, size_bytes=None, bit_rate=None, streams=()
)
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
        video, audio = facts.video, facts.audio
        if video is None and audio is None:
            raise NotMediaError(detail=f"ffprobe found no audio or video in {fmt['url']}")
        if video is not None:
            fmt["width"] = video.width
            fmt["height"] = video.height
            fmt["vcodec"] = _codec_tag(video)
        else:
            fmt["vcodec"] = "none"
        fmt["acodec"] = _codec_tag(audio) if audio else "none"
        if facts.duration_s and not info.get("duration"):
            info["duration"] = facts.duration_s
        logger.debug(
            "Direct file %s: %sp %s/%s", fmt["url"], fmt.get("height"), fmt["vcodec"], fmt["acodec"]
        )


def _codec_tag(stream: StreamInfo) -> str | None:
    """yt-dlp's codec naming (`avc1`, `mp4a...`) for an ffprobe stream, so selectors match."""
    return _CODEC_TAGS.get(stream.codec_name, stream.codec_name) or None


def _ffprobe_stream(session: YtdlSession, url: str) -> tuple[MediaInfo | None, int | None]:
    """ffprobe's facts about the stream at `url`, and the Content-Length the server sent.

    The facts are None when ffprobe is not installed, without streams when it read the
    file and found nothing it knows. The command and its parsing are `media.probe`'s; only
    the feeding of the bytes (from yt-dlp, blocking) is done here.
    """
    executable = shutil.which("ffprobe")
    if executable is None:
        logger.warning("ffprobe is not installed; direct links get no resolution list")
        return None, None
    process = subprocess.Popen(
        [executable, *probe_command("pipe:0")[1:]],
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
        return _NOT_MEDIA, length  # read, and not media: no streams
    try:
        return parse_probe_output(stdout, url), length
    except ProbeError:
        return _NOT_MEDIA, length
