"""Reading the chosen formats as plain HTTP(S) streams instead of downloading them first.

A source can be streamed into the splitter when the formats our selector picks are single
files served over HTTP(S) with byte ranges (yt-dlp `protocol` http/https), already
H.264/AAC in an MP4-family container (nothing to re-encode), and not DRM-protected; or
when they are fragmented (HLS playlists, segmented DASH: `fragmented`), whose fragments
the segment splitter reads in order and checks for H.264/AAC itself. Anything else (ISM,
DRM, codecs known to need re-encoding, a mix of kinds) goes the download way.

Every URL is opened once here through the guarded YoutubeDL with a one-byte range request:
the guard checks it and each redirect hop, the final URL (after redirects) is what the
splitter will read, and the answer proves the server seeks and tells the exact size.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from yt_dlp.networking.common import Request
from yt_dlp.networking.exceptions import HTTPError, TransportError

from mediabot.domain.enums import MediaKind, Provider
from mediabot.domain.media import MediaFacts
from mediabot.downloaders.formats import InfoDict
from mediabot.downloaders.guarded import GuardedYoutubeDL, GuardRefusalError, precheck_url
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.ytdl import YtdlSession
from mediabot.net.addresses import GuardPolicy
from mediabot.net.proxy import GuardProxy

if TYPE_CHECKING:  # the splitter is loaded by whoever builds a plan, not by every download
    from mediabot.media.fragments.playlist import FragmentTrack
    from mediabot.media.sources import DurationCheck, SegmentedSource, SplitSource

logger = logging.getLogger(__name__)

STREAM_PROTOCOLS = frozenset({"http", "https"})
"""yt-dlp protocols that are one plain file per format."""
FRAGMENT_PROTOCOLS = frozenset({"m3u8", "m3u8_native", "http_dash_segments"})
"""yt-dlp protocols whose fragments the segment splitter reads: HLS, segmented DASH."""
_CONTAINERS = frozenset({"mp4", "m4a", "m4v", "mov"})
_CONTENT_RANGE = re.compile(r"^bytes 0-0/(\d+)$")


@dataclass(frozen=True, slots=True)
class StreamGuard:
    """The private-network guard for a stream plan's remote reads (`SplitSource.url_check`).

    Called on a URL, it refuses what needs no DNS to refuse; `proxy_url` is the guard
    proxy every request to the origin goes through (a process-wide session: the plan
    outlives the lookup that made it), which judges each address it connects to.
    A read that receives nothing for `stall_timeout_s` fails.
    """

    policy: GuardPolicy
    proxy_url: str = field(repr=False)  # holds the guard session's secret
    stall_timeout_s: float

    @classmethod
    def for_options(cls, options: DownloadOptions, provider: Provider | None = None) -> StreamGuard:
        policy = options.guard_policy(provider)
        session = GuardProxy.running().shared_session(policy)
        return cls(policy, session.url, options.stall_timeout_s)

    def __call__(self, url: str) -> None:
        precheck_url(url, self.policy)


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamPlan(MediaFacts):
    """The chosen formats as remote inputs the splitter reads directly, and what they are.

    `source` holds the final URLs (redirects already followed and checked), the headers
    yt-dlp would send (cookies included), the duration and the guard to apply to any
    further redirect. `estimated_bytes` is the sum of the inputs' sizes as the servers
    state them. `thumbnail` is the cover saved into the folder given to `locate_streams`
    (None when there is none, or no folder was given); `thumbnail_url` is where it came from.
    """

    source: SplitSource | SegmentedSource
    estimated_bytes: int | None = None
    thumbnail_url: str | None = None

    @property
    def kind(self) -> MediaKind:
        return self.source.kind


@dataclass(frozen=True, slots=True)
class LocatedInputs:
    """What `locate_inputs` found: final URLs, their total size, the shared headers."""

    urls: tuple[str, ...]
    total_bytes: int
    headers: dict[str, str]
    width: int | None
    height: int | None


def streamable(
    chosen: list[InfoDict], kind: MediaKind, *, source_has_audio: bool, muxed_sound: bool = False
) -> bool:
    """Whether the formats the selector chose can be cut straight from their URLs;
    `muxed_sound`: the sound may be taken out of one file that holds the picture too
    (the clip cutter does, leaving the picture's codec alone)."""
    if not chosen or len(chosen) > 2 or kind not in (MediaKind.VIDEO, MediaKind.AUDIO):
        return False
    for fmt in chosen:
        if str(fmt.get("protocol") or "") not in STREAM_PROTOCOLS:
            return False
        if fmt.get("fragments") or fmt.get("has_drm") or not fmt.get("url"):
            return False
        if str(fmt.get("ext") or "") not in _CONTAINERS:
            return False
    videos = [f for f in chosen if _codec(f, "vcodec")]
    audios = [f for f in chosen if _codec(f, "acodec")]
    if any(not _codec(f, "vcodec") and not _codec(f, "acodec") for f in chosen):
        return False  # a format whose codecs nobody knows: uncertain
    if kind is MediaKind.AUDIO:
        # sound only: one AAC audio-only file (a muxed file would drag the picture along,
        # unless the reader takes the sound alone out of it)
        return len(chosen) == 1 and (muxed_sound or not videos) and _is_aac(chosen[0])
    if len(videos) != 1 or not str(videos[0]["vcodec"]).startswith("avc1"):
        return False
    if len(chosen) == 2 and (len(audios) != 1 or audios[0] is videos[0]):
        return False
    if not audios:
        return not source_has_audio
    return all(_is_aac(f) for f in audios)


def fragmented(chosen: list[InfoDict], kind: MediaKind) -> bool:
    """Whether the chosen formats are HLS playlists or segmented DASH the segment splitter
    can cut while they arrive: one muxed format, or video + audio; no DRM, no codec known
    to need re-encoding (unknown codecs are checked on the first fragment)."""
    if not chosen or len(chosen) > 2 or kind not in (MediaKind.VIDEO, MediaKind.AUDIO):
        return False
    for fmt in chosen:
        protocol = str(fmt.get("protocol") or "")
        if protocol not in FRAGMENT_PROTOCOLS or fmt.get("has_drm") or not fmt.get("url"):
            return False
        if protocol == "http_dash_segments" and not fmt.get("fragments"):
            return False
        video, audio = _codec(fmt, "vcodec"), _codec(fmt, "acodec")
        if video is not None and not video.startswith(("avc1", "h264")):
            return False
        if audio is not None and not _is_aac(fmt):
            return False
    if len(chosen) == 2:
        return sum(1 for fmt in chosen if _codec(fmt, "vcodec")) <= 1
    return True


def segmented_source(
    session: YtdlSession,
    chosen: list[InfoDict],
    kind: MediaKind,
    duration_s: float | None,
    guard: StreamGuard,
    duration_check: DurationCheck | None = None,
) -> SegmentedSource:
    """The chosen fragmented formats as tracks (video first), with the request headers
    yt-dlp would send (cookies included) and the size the formats announce;
    `duration_check` judges the tracks' real duration once they are read."""
    from mediabot.media.sources import SegmentedSource

    ordered = sorted(chosen, key=lambda fmt: _codec(fmt, "vcodec") is None)
    headers = {str(k): str(v) for k, v in (ordered[0].get("http_headers") or {}).items()}
    with session.open() as ydl:
        cookie = ydl.cookiejar.get_cookie_header(str(ordered[0]["url"]))
    if cookie:
        headers["Cookie"] = cookie
    sizes = [_announced_bytes(fmt, duration_s) for fmt in ordered]
    return SegmentedSource(
        tuple(_track(fmt) for fmt in ordered),
        kind,
        duration_s=duration_s,
        estimated_bytes=sum(size for size in sizes if size) if all(sizes) else None,
        headers=headers,
        url_check=guard,
        duration_check=duration_check,
    )


def _track(fmt: InfoDict) -> FragmentTrack:
    from mediabot.media.fragments.playlist import Fragment, FragmentTrack

    if str(fmt.get("protocol")).startswith("m3u8"):
        return FragmentTrack(playlist_url=str(fmt["url"]))
    base = str(fmt.get("fragment_base_url") or fmt["url"])
    fragments = [
        Fragment(
            str(item.get("url") or urljoin(base, str(item["path"]))),
            float(item["duration"]) if item.get("duration") else None,
        )
        for item in fmt["fragments"]
    ]
    # yt-dlp lists DASH's initialization first, the one fragment without a duration
    if len(fragments) > 1 and fragments[0].duration_s is None:
        return FragmentTrack(init=fragments[0], fragments=tuple(fragments[1:]))
    return FragmentTrack(fragments=tuple(fragments))


def _announced_bytes(fmt: InfoDict, duration_s: float | None) -> int | None:
    size = fmt.get("filesize") or fmt.get("filesize_approx")
    if size:
        return int(size)
    if fmt.get("tbr") and duration_s:
        return int(float(fmt["tbr"]) * 1000 / 8 * duration_s)
    return None


def locate_inputs(session: YtdlSession, chosen: list[InfoDict]) -> LocatedInputs | None:
    """Open each chosen format's URL once (blocking): final URL, size, headers.

    None when a server does not answer a byte range with its size, or errs; the guard's
    refusal propagates (as `GuardRefusalError`, which `YtdlSession.run` translates).
    """
    urls: list[str] = []
    total = 0
    headers: dict[str, str] = {}
    with session.open() as ydl:
        for fmt in chosen:
            pinned = _pin(ydl, fmt)
            if pinned is None:
                return None
            url, size = pinned
            wanted = {str(k): str(v) for k, v in (fmt.get("http_headers") or {}).items()}
            cookie = ydl.cookiejar.get_cookie_header(url)
            if cookie:
                wanted["Cookie"] = cookie
            if headers and wanted != headers:
                logger.info("Not streaming: the formats need different request headers")
                return None
            headers = wanted
            urls.append(url)
            total += size
    video = next((f for f in chosen if _codec(f, "vcodec")), None)
    return LocatedInputs(
        urls=tuple(urls),
        total_bytes=total,
        headers=headers,
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
    )


def save_thumbnail(session: YtdlSession, url: str, folder: Path) -> Path | None:
    """Fetch the cover at `url` into `folder` through the guard (blocking); None on failure."""
    suffix = Path(url.split("?", 1)[0]).suffix.lower()
    path = folder / f"cover{suffix if suffix in ('.jpg', '.jpeg', '.png', '.webp') else '.jpg'}"
    session.tolerated_urls.add(url)
    try:
        with session.open() as ydl, path.open("wb") as output:
            for chunk in session.fetch(ydl, url):
                output.write(chunk)
    except (HTTPError, TransportError, GuardRefusalError, OSError) as exc:
        # a cover refused by the guard is only a missing cover
        session.guard.forgive(session.guard.unforgiven_refusals)
        logger.info("No cover for the stream: %s", exc)
        path.unlink(missing_ok=True)
        return None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _pin(ydl: GuardedYoutubeDL, fmt: InfoDict) -> tuple[str, int] | None:
    headers = {str(k): str(v) for k, v in (fmt.get("http_headers") or {}).items()}
    headers["Range"] = "bytes=0-0"
    headers["Accept-Encoding"] = "identity"
    try:
        response = ydl.urlopen(Request(str(fmt["url"]), headers=headers))
    except (HTTPError, TransportError) as exc:
        logger.info("Not streaming format %s: %s", fmt.get("format_id"), exc)
        return None
    try:
        response.read(1)
        final = str(response.url)
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
        status = response.status
    finally:
        response.close()
    if status != 206 or match is None:
        logger.info(
            "Not streaming format %s: no byte ranges (HTTP %s)", fmt.get("format_id"), status
        )
        return None
    return final, int(match.group(1))


def _codec(fmt: InfoDict, field: str) -> str | None:
    value = fmt.get(field)
    return str(value) if value and value != "none" else None


def _is_aac(fmt: InfoDict) -> bool:
    return str(fmt.get("acodec") or "").startswith(("mp4a", "aac"))
