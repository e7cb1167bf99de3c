"""Facts about generic media that yt-dlp's generic extractor cannot tell, read by ffprobe.

For a plain `https://host/file.mp4`, a file served as `application/octet-stream` under a
path without extension (S3, file hosts), or an HLS media playlist without a master
playlist, yt-dlp knows neither height nor codecs, so neither the resolution list nor the
exact-height rule could work. ffprobe reads the real streams, always through the session's
guard proxy: a direct file's first bytes are streamed through the guarded YoutubeDL into
ffprobe's stdin; a playlist is read by ffprobe itself with `http_proxy` set to the proxy
(`media.tools.tool_environment`, which drops `no_proxy`). Both run in the session's
yt-dlp thread, so the lookup deadline, the stall watchdog and a cancel end them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
import threading
from typing import Any

from yt_dlp.utils import DownloadCancelled

from mediabot.downloaders.errors import NotMediaError, PrivateAddressError
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.ytdl import YtdlSession
from mediabot.media.probe import (
    MediaInfo,
    ProbeError,
    StreamInfo,
    parse_probe_output,
    probe_command,
    without_query,
)
from mediabot.media.tools import tool_environment

logger = logging.getLogger(__name__)

_PROBE_BYTES_LIMIT = 32 * 1024 * 1024
_NOT_MEDIA = MediaInfo(
    source="", format_name="", duration_s=None, size_bytes=None, bit_rate=None, streams=()
)
_CODEC_TAGS = {"h264": "avc1", "hevc": "hvc1", "aac": "mp4a.40.2"}
_PLAYLIST_PROTOCOLS = frozenset({"m3u8", "m3u8_native"})
_MAX_PLAYLISTS_PROBED = 4
"""A master playlist that names neither resolutions nor codecs: its first variants only."""
_PLAYLIST_SAMPLE_S = 8
"""Seconds of a playlist ffprobe reads to measure its bitrate (the size estimate)."""
_POLL_S = 0.1
_UNKNOWN_EXTS = frozenset({"", "unknown_video", "unknown"})
_EXT_BY_FORMAT = (("mp4", "mp4"), ("webm", "webm"), ("mp3", "mp3"), ("ogg", "ogg"))


def describe_formats(session: YtdlSession, info: InfoDict) -> None:
    """Fill height, width, codecs, size and duration of generic formats in place (blocking).

    Direct files (yt-dlp's `direct`) and HLS playlists whose streams yt-dlp does not know
    are probed; a direct link yt-dlp returned without a format list (an unknown
    Content-Type) is given one. Raises `NotMediaError` when ffprobe finds no video or audio
    stream in a direct file (an HTML page, an archive, an empty file, whatever its
    Content-Type says), `PrivateAddressError` when the guard refused a request of a probe.
    """
    if info.get("direct"):
        _give_format_list(info)
        _describe_direct(session, info)
    _describe_playlists(session, info)


def _give_format_list(info: InfoDict) -> None:
    """yt-dlp returns an unrecognised direct link as the info itself: make it one format."""
    if info.get("formats") or not info.get("url"):
        return
    fmt = {"format_id": "direct", "url": info["url"], "protocol": info.get("protocol")}
    for key in ("ext", "http_headers", "filesize"):
        if info.get(key):
            fmt[key] = info[key]
    info["formats"] = [fmt]


def _describe_direct(session: YtdlSession, info: InfoDict) -> None:
    for fmt in info.get("formats") or []:
        if fmt.get("height"):
            continue
        if fmt.get("protocol") not in ("http", "https"):
            continue
        facts, length, rates = _ffprobe_stream(session, fmt["url"])
        if length and not fmt.get("filesize"):
            fmt["filesize"] = length
        if facts is None:
            continue
        if facts.video is None and facts.audio is None:
            raise NotMediaError(detail=f"ffprobe found no audio or video in {fmt['url']}")
        _apply(facts, fmt, info)
        fmt.update({key: kbps for key, kbps in rates.items() if kbps and not fmt.get(key)})
        if str(fmt.get("ext") or "") in _UNKNOWN_EXTS:
            fmt["ext"] = _ext_of(facts)


def _describe_playlists(session: YtdlSession, info: InfoDict) -> None:
    unknown = [
        fmt
        for fmt in info.get("formats") or []
        if fmt.get("protocol") in _PLAYLIST_PROTOCOLS
        and not fmt.get("height")
        and fmt.get("vcodec") is None
    ]
    for fmt in unknown[:_MAX_PLAYLISTS_PROBED]:
        probed = _ffprobe_playlist(session, fmt["url"])
        if probed is None:
            continue
        facts, rates = probed
        if facts.video is None and facts.audio is None:
            continue  # unreadable here; the download will tell
        _apply(facts, fmt, info)
        fmt.update({key: kbps for key, kbps in rates.items() if kbps})


def _apply(facts: MediaInfo, fmt: InfoDict, info: InfoDict) -> None:
    video, audio = facts.video, facts.audio
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
        "Probed %s: %sp %s/%s",
        without_query(fmt["url"]),
        fmt.get("height"),
        fmt["vcodec"],
        fmt["acodec"],
    )


def _codec_tag(stream: StreamInfo) -> str | None:
    """yt-dlp's codec naming (`avc1`, `mp4a...`) for an ffprobe stream, so selectors match."""
    return _CODEC_TAGS.get(stream.codec_name, stream.codec_name) or None


def _ext_of(facts: MediaInfo) -> str:
    """The file extension for a container yt-dlp could not name (it names the download)."""
    for marker, ext in _EXT_BY_FORMAT:
        if marker in facts.format_name.split(","):
            return "m4a" if ext == "mp4" and facts.video is None else ext
    return "mkv" if "matroska" in facts.format_name else "mp4"


def _ffprobe_stream(
    session: YtdlSession, url: str
) -> tuple[MediaInfo | None, int | None, dict[str, float | None]]:
    """ffprobe's facts about the stream at `url`, the Content-Length the server sent, and
    the bit rates the container declares (`vbr`, `abr`, kbit/s: the audio size estimate).

    The facts are None when ffprobe is not installed, without streams when it read the
    file and found nothing it knows. The command and its parsing are `media.probe`'s; only
    the feeding of the bytes (from yt-dlp, blocking) is done here.
    """
    executable = shutil.which("ffprobe")
    if executable is None:
        logger.warning("ffprobe is not installed; direct links get no resolution list")
        return None, None, {}
    process = subprocess.Popen(
        [executable, *probe_command("pipe:0")[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    headers: dict[str, str] = {}
    # ffprobe's report is read while the bytes go in: a report larger than the pipe's buffer
    # would otherwise block ffprobe, which then stops reading, and the write below with it.
    output = bytearray()
    stdout_pipe = process.stdout
    reader = threading.Thread(target=lambda: output.extend(stdout_pipe.read()), daemon=True)
    reader.start()
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
        process.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stdout = bytes(output)
    length_text = headers.get("Content-Length") or headers.get("content-length") or ""
    length = int(length_text) if length_text.isdigit() else None
    if process.returncode != 0 or not stdout:
        logger.info("ffprobe could not describe %s", without_query(url))
        return _NOT_MEDIA, length, {}  # read, and not media: no streams
    try:
        facts = parse_probe_output(stdout, url)
    except ProbeError:
        return _NOT_MEDIA, length, {}
    return facts, length, _declared_rates(stdout, facts)


def _ffprobe_playlist(
    session: YtdlSession, url: str
) -> tuple[MediaInfo, dict[str, float | None]] | None:
    """ffprobe's facts about the HLS playlist at `url`, with its measured bit rates.

    The rates (`tbr`, `abr`, in kbit/s as yt-dlp counts them) come from the packets of the
    first seconds. None when ffprobe is not installed or cannot read the playlist. ffprobe
    reads the playlist, its keys and segments through the session's guard proxy; it is
    killed when the session is cancelled or abandoned (deadline, stall).
    """
    executable = shutil.which("ffprobe")
    if executable is None:
        logger.warning("ffprobe is not installed; playlists get no resolution list")
        return None
    sample = ["-read_intervals", f"%+{_PLAYLIST_SAMPLE_S}"]
    packets = ["-show_entries", "packet=stream_index,size,pts_time"]
    command = [executable, *probe_command(url, [*sample, *packets])[1:]]
    guard = session.guard
    refused_before = guard.refusal_count
    stdout = _run_until_cancelled(session, command, tool_environment(guard.url))
    if guard.refusal_count > refused_before:
        raise PrivateAddressError(detail=f"guard refused {guard.refusals} probing {url}")
    if stdout is None:
        logger.info("ffprobe could not read the playlist %s", without_query(url))
        return None
    try:
        facts = parse_probe_output(stdout, url)
    except ProbeError:
        return None
    return facts, _bit_rates(stdout, facts)


def _run_until_cancelled(
    session: YtdlSession, command: list[str], env: dict[str, str]
) -> bytes | None:
    """The command's output, or None when it failed.

    Killed as soon as the session is cancelled, raising `DownloadCancelled`: the session's
    `run` then reports why (the deadline, a stall, the user's cancel).
    """
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as process:
        stdout = b""
        try:
            while not session.cancelled.is_set():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    stdout, _ = process.communicate(timeout=_POLL_S)
                    break
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if session.cancelled.is_set():  # the abort may have been what ended ffprobe
        raise DownloadCancelled()
    return stdout if process.returncode == 0 and stdout else None


def _declared_rates(raw: bytes, facts: MediaInfo) -> dict[str, float | None]:
    """`vbr` and `abr` (kbit/s) from the streams' `bit_rate` in ffprobe's output."""
    try:
        streams: list[dict[str, Any]] = json.loads(raw).get("streams") or []
    except ValueError:
        return {}
    by_index = {stream.get("index"): stream.get("bit_rate") for stream in streams}
    rates: dict[str, float | None] = {}
    for key, stream in (("vbr", facts.video), ("abr", facts.audio)):
        bit_rate = str(by_index.get(stream.index) or "") if stream is not None else ""
        rates[key] = int(bit_rate) / 1000 if bit_rate.isdigit() else None
    return rates


def _bit_rates(raw: bytes, facts: MediaInfo) -> dict[str, float | None]:
    """`tbr` and `abr` (kbit/s) from the packets ffprobe listed; None where unmeasurable."""
    try:
        packets: list[dict[str, Any]] = json.loads(raw).get("packets") or []
    except ValueError:
        return {}
    audio_index = facts.audio.index if facts.audio else None
    return {
        "tbr": _kbps(packets),
        "abr": _kbps([p for p in packets if p.get("stream_index") == audio_index]),
    }


def _kbps(packets: list[dict[str, Any]]) -> float | None:
    times = [float(p["pts_time"]) for p in packets if p.get("pts_time") not in (None, "N/A")]
    span = max(times) - min(times) if times else 0.0
    if span < 1.0:
        return None
    size = sum(int(p.get("size") or 0) for p in packets)
    return size * 8 / span / 1000
