"""Facts about generic media that yt-dlp's generic extractors cannot tell, read by ffprobe.

For a plain `https://host/file.mp4`, a file served as `application/octet-stream` under a
path without extension (S3, file hosts), an HLS media playlist without a master
playlist, or a page's `<video src>` (yt-dlp's `html5` embeds), yt-dlp knows neither
height nor codecs, often not the duration, so neither the resolution list, the exact-height
rule nor the duration limit could work. ffprobe reads the real streams, always through the
session's guard proxy: a file's first bytes are streamed through the guarded YoutubeDL
into ffprobe's stdin; a playlist is read by ffprobe itself with `http_proxy` set to the
proxy (`media.tools.tool_environment`, which drops `no_proxy`). Both run in the session's
yt-dlp thread, so the lookup deadline, the stall watchdog and a cancel end them.

Direct files are the link itself: what ffprobe cannot read is refused (`describe_formats`).
A page's embeds are extras of a page yt-dlp did read: a probe that fails leaves the format
as yt-dlp described it (`describe_page_media`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import DownloadCancelled

from mediabot.downloaders.errors import DownloadError, NotMediaError, PrivateAddressError
from mediabot.downloaders.formats import InfoDict, duration_of
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
_FILE_PROTOCOLS = frozenset({"http", "https"})
_PLAYLIST_PROTOCOLS = frozenset({"m3u8", "m3u8_native"})
_MAX_PLAYLISTS_PROBED = 4
"""A master playlist that names neither resolutions nor codecs: its first variants only."""
_MAX_EMBEDS_PROBED = 4
"""A page's formats without a height: its first ones only (`<source>`s of one `<video>`)."""
_PLAYLIST_SAMPLE_S = 8
"""Seconds of a playlist ffprobe reads to measure its bitrate (the size estimate)."""
_SIZE_TOLERANCE = 4.0
"""How far a declared size may stray from the media's own estimate and still be shown."""
_SIZE_CHECK_BYTES = 16 * 1024 * 1024
"""A body whose declared size is disputed is read this far to find its end (its size)."""
_POLL_S = 0.1
_UNKNOWN_EXTS = frozenset({"", "unknown_video", "unknown"})
_EXT_BY_FORMAT = (("mp4", "mp4"), ("webm", "webm"), ("mp3", "mp3"), ("ogg", "ogg"))


@dataclass(frozen=True, slots=True)
class _FileProbe:
    """What reading the start of a file told: ffprobe's facts (None without ffprobe), the
    Content-Length the server announced, the bit rates the container declares (`vbr`,
    `abr`, kbit/s), and the bytes read, with whether the body ended within them."""

    facts: MediaInfo | None
    announced_bytes: int | None = None
    rates: dict[str, float | None] | None = None
    read_bytes: int = 0
    read_all: bool = False


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
        if fmt.get("protocol") not in _FILE_PROTOCOLS:
            continue
        probed = _ffprobe_stream(session, fmt)
        _size(fmt, probed)
        facts = probed.facts
        if facts is None:
            continue
        if facts.video is None and facts.audio is None:
            raise NotMediaError(detail=f"ffprobe found no audio or video in {fmt['url']}")
        _apply_file(probed, facts, fmt, info)


def _describe_embedded(session: YtdlSession, info: InfoDict) -> None:
    """Fill height, codecs, size and duration of a page's formats yt-dlp could not describe
    (blocking), in place.

    These are the plain-file formats without a height (`<video src>`, `<source>`), and,
    when the entry has no duration yet, the first plain-file format (an `<audio src>`).
    A probe that fails (an error answer, a broken connection, not media) leaves its format
    as yt-dlp described it. A refusal of the guard raises (`GuardRefusalError`, which the
    session's `run` reports as `PrivateAddressError`), and so does the session's cancel.
    """
    if info.get("direct"):
        return  # the link itself is the file: `describe_formats`, which refuses non-media
    for fmt in _undescribed(info):
        try:
            probed = _ffprobe_stream(session, fmt)
        except (HTTPError, TransportError) as exc:
            logger.info("Could not probe %s: %s", without_query(str(fmt["url"])), exc)
            continue
        facts = probed.facts
        if facts is None or (facts.video is None and facts.audio is None):
            continue
        _size(fmt, probed)
        _apply_file(probed, facts, fmt, info)


async def describe_page_media(
    session: YtdlSession, entries: list[InfoDict], *, deadline: float
) -> None:
    """`_describe_embedded` on each entry, until `deadline` (`time.monotonic()`) at most.

    The probes run on a sibling of `session` (its own guard session and watch): one that
    stalls, or is still running at the deadline, is abandoned alone, and the entries keep
    what was learnt so far. A guard's refusal raises `PrivateAddressError`; the caller's
    cancellation propagates.
    """
    wanted = [entry for entry in entries if not entry.get("direct") and _undescribed(entry)]
    if not wanted:
        return
    budget = deadline - time.monotonic()
    if budget <= 0:
        logger.info("No time left to probe the media of %s", wanted[0].get("webpage_url"))
        return
    probes = session.sibling()
    try:
        async with asyncio.timeout(budget):
            await probes.run(lambda: _describe_each(probes, wanted))
    except PrivateAddressError:
        raise
    except (TimeoutError, DownloadError) as exc:
        logger.info(
            "Probing the media of %s ended early (%s); offering what is known",
            wanted[0].get("webpage_url"),
            exc or f"over {budget:.1f} s",
        )
    finally:
        probes.close()


def _describe_each(session: YtdlSession, entries: list[InfoDict]) -> None:
    for entry in entries:
        _describe_embedded(session, entry)


def _undescribed(info: InfoDict) -> list[InfoDict]:
    files = [
        fmt
        for fmt in info.get("formats") or []
        if fmt.get("protocol") in _FILE_PROTOCOLS and fmt.get("url") and not fmt.get("has_drm")
    ]
    unknown = [fmt for fmt in files if not fmt.get("height") and fmt.get("vcodec") != "none"]
    if unknown:
        return unknown[:_MAX_EMBEDS_PROBED]
    if files and duration_of(info) is None:
        return files[:1]  # one file tells the duration all of them share
    return []


def _apply_file(probed: _FileProbe, facts: MediaInfo, fmt: InfoDict, info: InfoDict) -> None:
    _apply(facts, fmt, info)
    rates = probed.rates or {}
    fmt.update({key: kbps for key, kbps in rates.items() if kbps and not fmt.get(key)})
    if str(fmt.get("ext") or "") in _UNKNOWN_EXTS:
        fmt["ext"] = _ext_of(facts)


def _size(fmt: InfoDict, probed: _FileProbe) -> None:
    """Give `fmt` the size to show, unless yt-dlp gave one.

    A body read to its end is its exact size. Otherwise the server's Content-Length is
    shown when it agrees (within `_SIZE_TOLERANCE` either way) with the media's own
    estimate: its declared bit rate × its duration as ffprobe read them from the first
    bytes (the streams' rates summed, or the container's overall rate). When they
    disagree the estimate is shown instead, raised to the bytes already seen (a file's
    start may tell only the duration of its first fragments): a server that announces
    2 GiB for a 20-second 240p file does not make it 2 GiB. Without an estimate the
    Content-Length stands. Nothing here limits the download, which counts the bytes that
    really arrive.
    """
    if fmt.get("filesize") or fmt.get("filesize_approx"):
        return
    if probed.read_all and probed.read_bytes:
        fmt["filesize"] = probed.read_bytes
        return
    estimate = _estimated_bytes(probed)
    announced = probed.announced_bytes
    if announced and sizes_agree(announced, estimate):
        fmt["filesize"] = announced
        return
    if announced:
        logger.info(
            "Ignoring the announced size of %s: %d bytes against an estimate of %s",
            without_query(str(fmt["url"])),
            announced,
            estimate,
        )
    if estimate:
        # at least what came: the estimate's duration may be only that of the first bytes
        fmt["filesize_approx"] = max(estimate, probed.read_bytes)


def sizes_agree(announced: int | None, estimate: int | None) -> bool:
    """Whether a size a server declares is credible next to the media's own estimate
    (within `_SIZE_TOLERANCE` either way); without either, nothing disputes it."""
    if announced is None or estimate is None:
        return True
    return estimate / _SIZE_TOLERANCE <= announced <= estimate * _SIZE_TOLERANCE


def _estimated_bytes(probed: _FileProbe) -> int | None:
    """Bit rate × duration of the probed media, when every stream's rate is known."""
    facts = probed.facts
    if facts is None or not facts.duration_s:
        return None
    bit_rate = facts.bit_rate
    if not bit_rate:
        rates = probed.rates or {}
        wanted = [
            rates.get(key)
            for key, stream in (("vbr", facts.video), ("abr", facts.audio))
            if stream is not None
        ]
        if not wanted or not all(wanted):
            return None
        bit_rate = int(sum(rate or 0 for rate in wanted) * 1000)
    return int(bit_rate / 8 * facts.duration_s)


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
    if facts.duration_s and facts.duration_s > float(info.get("duration") or 0):
        info["duration"] = facts.duration_s  # the file's own length, over any declared one
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


def _ffprobe_stream(session: YtdlSession, fmt: InfoDict) -> _FileProbe:
    """ffprobe's facts about the file of `fmt`, read from its first bytes (blocking).

    The request carries the format's `http_headers` (a page's embeds may need their
    Referer). A body shorter than its Content-Length ends where it ends: the bytes that
    came are judged, not the server's claim. When the Content-Length and the media's own
    estimate disagree (`sizes_agree`), the body is read on, unused, up to `_SIZE_CHECK_BYTES`:
    a body that ends by then has its exact size. The facts are None when ffprobe is not
    installed, without streams when it read the file and found nothing it knows. The
    command and its parsing are `media.probe`'s; only the feeding of the bytes (from
    yt-dlp, blocking) is done here.
    """
    url = str(fmt["url"])
    executable = shutil.which("ffprobe")
    if executable is None:
        logger.warning("ffprobe is not installed; direct links get no resolution list")
        return _FileProbe(None)
    request_headers = {str(k): str(v) for k, v in (fmt.get("http_headers") or {}).items()}
    headers: dict[str, str] = {}
    with session.open() as ydl:
        chunks = session.fetch(
            ydl, url, headers=request_headers, on_headers=headers.update, trust_length=False
        )
        stdout, received, ended = _feed_ffprobe(executable, chunks)
        length_text = headers.get("Content-Length") or headers.get("content-length") or ""
        probed = _FileProbe(
            _NOT_MEDIA,
            announced_bytes=int(length_text) if length_text.isdigit() else None,
            read_bytes=received,
            read_all=ended,
        )
        try:
            facts = parse_probe_output(stdout, url) if stdout else None
        except ProbeError:
            facts = None
        if facts is None:
            logger.info("ffprobe could not describe %s", without_query(url))
            return probed  # read, and not media: no streams
        probed = dataclasses.replace(probed, facts=facts, rates=_declared_rates(stdout, facts))
        if ended or sizes_agree(probed.announced_bytes, _estimated_bytes(probed)):
            return probed
        for chunk in chunks:
            received += len(chunk)
            if received >= _SIZE_CHECK_BYTES:
                return dataclasses.replace(probed, read_bytes=received)
        return dataclasses.replace(probed, read_bytes=received, read_all=True)


def _feed_ffprobe(executable: str, chunks: Iterator[bytes]) -> tuple[bytes, int, bool]:
    """ffprobe's JSON report on the bytes of `chunks` (empty when it failed), the bytes
    taken from `chunks`, and whether they ran out (the body's end) before ffprobe had
    enough or `_PROBE_BYTES_LIMIT` was reached. `chunks` is left open where it stopped."""
    process = subprocess.Popen(
        [executable, *probe_command("pipe:0")[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None and process.stdout is not None
    # ffprobe's report is read while the bytes go in: a report larger than the pipe's buffer
    # would otherwise block ffprobe, which then stops reading, and the write below with it.
    output = bytearray()
    stdout_pipe = process.stdout
    reader = threading.Thread(target=lambda: output.extend(stdout_pipe.read()), daemon=True)
    reader.start()
    received, ended = 0, False
    try:
        for chunk in chunks:
            received += len(chunk)
            try:
                process.stdin.write(chunk)
            except BrokenPipeError:
                break  # ffprobe has read enough
            if received >= _PROBE_BYTES_LIMIT:
                break
        else:
            ended = True
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.wait(timeout=30)
        reader.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return (bytes(output) if process.returncode == 0 else b""), received, ended


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
