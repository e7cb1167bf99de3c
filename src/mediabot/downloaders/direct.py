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
import logging
import time

from yt_dlp.networking.exceptions import HTTPError, TransportError

from mediabot.downloaders.errors import DownloadError, NotMediaError, PrivateAddressError
from mediabot.downloaders.file_probe import FileProbe, probe_file, settle_size
from mediabot.downloaders.formats import InfoDict, duration_of
from mediabot.downloaders.playlist_probe import probe_playlist
from mediabot.downloaders.ytdl import YtdlSession
from mediabot.media.probe import MediaInfo, StreamInfo, without_query

logger = logging.getLogger(__name__)

_CODEC_TAGS = {"h264": "avc1", "hevc": "hvc1", "aac": "mp4a.40.2"}
_FILE_PROTOCOLS = frozenset({"http", "https"})
_PLAYLIST_PROTOCOLS = frozenset({"m3u8", "m3u8_native"})
_MAX_PLAYLISTS_PROBED = 4
"""A master playlist that names neither resolutions nor codecs: its first variants only."""
_MAX_EMBEDS_PROBED = 4
"""A page's formats without a height: its first ones only (`<source>`s of one `<video>`)."""
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
        if fmt.get("protocol") not in _FILE_PROTOCOLS:
            continue
        probed = probe_file(session, fmt)
        settle_size(fmt, probed)
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
            probed = probe_file(session, fmt)
        except (HTTPError, TransportError) as exc:
            logger.info("Could not probe %s: %s", without_query(str(fmt["url"])), exc)
            continue
        facts = probed.facts
        if facts is None or (facts.video is None and facts.audio is None):
            continue
        settle_size(fmt, probed)
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


def _apply_file(probed: FileProbe, facts: MediaInfo, fmt: InfoDict, info: InfoDict) -> None:
    _apply(facts, fmt, info)
    rates = probed.rates or {}
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
        probed = probe_playlist(session, fmt["url"])
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
