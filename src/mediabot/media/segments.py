"""Fragmented sources (HLS playlists, segmented DASH) cut into parts while they arrive.

A fragmented source is one or two tracks (muxed, or video + audio), each an optional
initialization fragment and media fragments that, concatenated in order, are one playable
stream: MPEG-TS segments, or fragmented MP4 after its init. `SegmentSplitter` serves HLS
(TS or fMP4, AES-128 or clear) and DASH alike:

- a fetcher reads the fragments in order of time through the private-network guard (the
  playlist, each fragment, each key and every redirect), writes each to the work folder,
  and asks ffprobe for its packets (timestamps, sizes, keyframes);
- `cut` plans a part from the packets that have arrived with the same rules as the file
  splitter (`build_units`, `plan_part`: a part starts at a keyframe and is filled close
  to the limit), and cuts it with one `ffmpeg -c copy` fed the fragments through pipes:
  a fragment wholly before the part's end is deleted as soon as ffmpeg has it, so the
  part takes the place of the fragments it is made from.

The fetcher keeps the work folder (fragments, parts waiting or uploading, the part being
cut) under `DISK_PARTS` parts, so the disk a delivery takes does not grow with the
length of the source. Times given to and returned by `cut` count from the start of the
stream (the first fragment's first packet), as the file splitter's do, so a delivery
interrupted after part i resumes at part i+1 from the fragment that holds its start.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import contextlib
import itertools
import logging
import math
import os
import re
import threading
from asyncio.subprocess import DEVNULL, PIPE
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urljoin

import aiohttp
from yt_dlp.aes import aes_cbc_decrypt_bytes, unpad_pkcs7

from mediabot.domain.enums import MediaKind
from mediabot.domain.retry import Backoff
from mediabot.media.probe import (
    PACKET_ENTRIES,
    MediaInfo,
    Packet,
    StreamInfo,
    parse_packets,
    parse_probe_output,
    probe_command,
    without_query,
)
from mediabot.media.remote import (
    ProxiedUrlCheck,
    RemoteReadError,
    UrlCheck,
    open_checked,
)
from mediabot.media.splitter import (
    CutPart,
    CutUnit,
    DurationCheck,
    SplitError,
    build_units,
    plan_part,
)
from mediabot.media.tools import FFMPEG, FFPROBE, MediaToolError, discard, tool_environment

logger = logging.getLogger(__name__)

DISK_PARTS = 2.9
"""The work folder holds at most this many parts' worth of bytes (a margin under 3)."""
HEADROOM = 0.98
"""Share of the limit a part is planned to fill. A fragment is gone once cut, so a part
that comes out over the limit cannot be cut again: the margin is wider than the file
splitter's (measured: TS payloads lose ~1 % going into MP4, fMP4 keep their size)."""
_TYPICAL_FILL = 0.97
"""A part filled up to the limit ends at a keyframe, about half a keyframe gap short."""
_SEEK_BEFORE_S = 0.0005
"""ffmpeg starts and ends a copied stream by decode time: cut just before a keyframe's."""
_CHUNK_BYTES = 1024 * 1024
_ROOM_POLL_S = 0.05
"""How often the fetcher looks again for room (parts are deleted by the sender)."""
_FETCH_RETRY = Backoff(base_delay_s=0.5, max_delay_s=2.0, max_attempts=3)
_PIPE_BYTES = 256 * 1024
_QUEUED_PACKETS = "4096"
_IN_FLIGHT = 2
_PLAYLIST_MAX_BYTES = 8 * 1024 * 1024
_CONTAINERS = frozenset({"mpegts", "mov,mp4,m4a,3gp,3g2,mj2"})
"""ffprobe's names of the containers whose fragments carry their own timestamps."""
_VIDEO_CODECS = frozenset({"h264"})
_AUDIO_CODECS = frozenset({"aac"})
_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


@dataclass(frozen=True, slots=True)
class FragmentKey:
    """AES-128 (CBC, PKCS#7) key of an HLS fragment: where the key is, and the IV."""

    url: str
    iv: bytes


@dataclass(frozen=True, slots=True)
class Fragment:
    """One piece of a track: its URL, its nominal duration, an optional byte range
    (offset, length) and key."""

    url: str
    duration_s: float | None = None
    byte_range: tuple[int, int] | None = None
    key: FragmentKey | None = None


@dataclass(frozen=True, slots=True)
class FragmentTrack:
    """One track: an HLS media playlist to read, or DASH's fragments as yt-dlp lists them
    (`init` first, then the media fragments)."""

    playlist_url: str | None = None
    init: Fragment | None = None
    fragments: tuple[Fragment, ...] = ()


@dataclass(frozen=True, slots=True)
class SegmentedSource:
    """What to cut: one muxed track, or a video track then an audio track.

    `headers` go with every request; `url_check` is called on every URL before it is
    requested (redirect targets included) and names the guard proxy that carries them.
    `duration_check` is called with the longer of the declared duration and the tracks'
    own (their fragments' durations summed) once they are read (`open`).
    """

    tracks: tuple[FragmentTrack, ...]
    kind: MediaKind
    duration_s: float | None = None
    estimated_bytes: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)
    url_check: UrlCheck | None = field(default=None, compare=False, repr=False)
    duration_check: DurationCheck | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.tracks) <= 2:
            raise ValueError("a segmented source has one muxed track or one video and one audio")
        if self.kind not in (MediaKind.VIDEO, MediaKind.AUDIO):
            raise ValueError("only video and audio can be split")

    @property
    def is_stream(self) -> bool:
        """Always read over the network."""
        return True


def parse_media_playlist(text: str, url: str) -> FragmentTrack:
    """The fragments of an HLS media playlist at `url` (a VOD one: ended, no discontinuity).

    Raises `SplitError` for what cannot be cut as one stream: a master playlist, a live
    playlist, a discontinuity, encryption other than AES-128.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise SplitError(f"{without_query(url)} is not an HLS playlist")
    init: Fragment | None = None
    fragments: list[Fragment] = []
    sequence = 0
    duration: float | None = None
    byte_range: tuple[int, int] | None = None
    next_offset = 0
    key: tuple[str, bytes | None] | None = None
    ended = False
    for line in lines[1:]:
        tag, _, value = line.partition(":")
        if tag == "#EXT-X-STREAM-INF":
            raise SplitError("a master playlist, not a media playlist")
        if tag == "#EXT-X-DISCONTINUITY":
            raise SplitError("the playlist has a discontinuity")
        if tag == "#EXT-X-MEDIA-SEQUENCE":
            sequence = int(value)
        elif tag == "#EXTINF":
            duration = float(value.split(",", 1)[0])
        elif tag == "#EXT-X-BYTERANGE":
            byte_range = _byte_range(value, next_offset)
        elif tag == "#EXT-X-KEY":
            key = _key(_attributes(value), url)
        elif tag == "#EXT-X-MAP":
            attributes = _attributes(value)
            map_range = attributes.get("BYTERANGE")
            mapped = Fragment(
                urljoin(url, attributes["URI"]),
                byte_range=_byte_range(map_range, 0) if map_range else None,
            )
            if init is not None and mapped != init:
                raise SplitError("the playlist changes its initialization fragment")
            init = mapped
        elif tag == "#EXT-X-ENDLIST":
            ended = True
        elif not line.startswith("#"):
            fragment_key = None
            if key is not None:
                fragment_key = FragmentKey(key[0], key[1] or sequence.to_bytes(16, "big"))
            fragments.append(Fragment(urljoin(url, line), duration, byte_range, fragment_key))
            if byte_range is not None:
                next_offset = byte_range[0] + byte_range[1]
            sequence += 1
            duration, byte_range = None, None
    if not ended:
        raise SplitError("a live playlist (no end) cannot be cut ahead")
    if not fragments:
        raise SplitError("the playlist lists no fragment")
    return FragmentTrack(playlist_url=url, init=init, fragments=tuple(fragments))


def _attributes(value: str) -> dict[str, str]:
    return {name: raw.strip('"') for name, raw in _ATTRIBUTE.findall(value)}


def _byte_range(value: str, next_offset: int) -> tuple[int, int]:
    length, _, offset = value.partition("@")
    return (int(offset) if offset else next_offset, int(length))


def _key(attributes: Mapping[str, str], url: str) -> tuple[str, bytes | None] | None:
    method = attributes.get("METHOD", "NONE")
    if method == "NONE":
        return None
    if method != "AES-128" or "URI" not in attributes:
        raise SplitError(f"fragments encrypted with {method} cannot be read")
    iv = attributes.get("IV")
    return urljoin(url, attributes["URI"]), bytes.fromhex(iv[2:].rjust(32, "0")) if iv else None


@dataclass(slots=True)
class _Piece:
    """A fragment on disk: its track, number, file, size and packets (stream ids remapped)."""

    track: int
    number: int
    path: Path
    size_bytes: int
    packets: list[Packet]

    @property
    def first_dts(self) -> float:
        return min((p.dts_s for p in self.packets), default=math.inf)

    @property
    def last_dts(self) -> float:
        return max((p.dts_s for p in self.packets), default=-math.inf)

    @property
    def last_pts(self) -> float:
        return max((p.pts_s for p in self.packets), default=-math.inf)


@dataclass(slots=True)
class _Track:
    """A track as read: its fragments, its init on disk, the streams taken from it."""

    index: int
    init: Fragment | None
    fragments: tuple[Fragment, ...]
    init_path: Path | None = None
    streams: tuple[int, ...] = ()
    on_disk: list[_Piece] = field(default_factory=list)
    """Fragments whose packets are known, in order."""
    arrived: list[_Piece] = field(default_factory=list)
    """Fragments downloaded, their packets not read yet."""
    fetched_all: bool = False
    skip: int = 0
    """Leading fragments not fetched (a resumed delivery starts after them)."""
    largest: int = 0
    """The largest fragment fetched so far."""


@dataclass(slots=True)
class _Backlog:
    """What a running cut will write: the fragments fed to ffmpeg (and deleted), which
    its output (`output`) becomes. Counted as disk in use from the moment they are fed."""

    output: Path
    fed_bytes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fed(self, size: int) -> None:
        """Count a fragment fed, before it is deleted (from a feeding thread): for a moment
        it counts twice, never zero times."""
        with self._lock:
            self.fed_bytes += size


def _stream_id(track: int, index: int) -> int:
    return track * 1000 + index


class SegmentSplitter:
    """Cuts a `SegmentedSource` into parts in order, fetching its fragments meanwhile.

    The same verbs as `Splitter` (`open`, `cut`, `estimate_parts`, `part_target`,
    `survey`, `close`), but parts are cut in order of time only: a fragment is deleted
    once cut, so a cut that starts before the fragments still on disk fails with
    `SplitError` (the caller then downloads the rest instead).
    """

    def __init__(self, source: SegmentedSource, work_dir: Path, *, stem: str = "part") -> None:
        self._source = source
        self._work_dir = work_dir
        self._stem = stem
        proxy = (
            source.url_check.proxy_url if isinstance(source.url_check, ProxiedUrlCheck) else None
        )
        stall = (
            source.url_check.stall_timeout_s
            if isinstance(source.url_check, ProxiedUrlCheck)
            else 60.0
        )
        self._proxy = proxy
        self._stall_timeout_s = stall
        self._session: aiohttp.ClientSession | None = None
        self._tracks: list[_Track] = []
        self._keys: dict[str, bytes] = {}
        self._info: list[MediaInfo] = []
        self._keyframe_stream: int | None = None
        self._origin_s = 0.0
        self._duration_s = source.duration_s or 0.0
        self._limit_bytes: int | None = None
        self._fetcher: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._arrived = asyncio.Event()
        self._fetched = asyncio.Event()
        self._downloaded_all = False
        self._backlog: _Backlog | None = None
        self._starving = False
        self._seen_bytes = 0
        self._seen_s = 0.0
        self._largest = 0
        self._cut_until = -math.inf
        self.fetched_bytes = 0
        """Bytes read from the origin so far (fragments, inits, playlists, keys)."""

    async def __aenter__(self) -> SegmentSplitter:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def duration_s(self) -> float:
        return self._duration_s

    @property
    def video(self) -> StreamInfo | None:
        """The picture stream, once `open()` has run."""
        if self._source.kind is not MediaKind.VIDEO:
            return None
        return next((info.video for info in self._info if info.video is not None), None)

    @property
    def suffix(self) -> str:
        return ".mp4" if self._source.kind is MediaKind.VIDEO else ".m4a"

    async def open(self) -> None:
        """Read the playlists and each track's first fragment: the streams, the time origin.

        Raises `SplitError` when a track cannot be read, is not H.264/AAC, or lacks the
        stream the kind needs, and whatever the source's `duration_check` raises.
        """
        if self._session is None:
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=30, sock_read=self._stall_timeout_s
            )
            self._session = aiohttp.ClientSession(timeout=timeout, auto_decompress=False)
        try:
            await self._open_tracks()
        except RemoteReadError as exc:
            raise SplitError(str(exc)) from exc

    async def _open_tracks(self) -> None:
        want_video = self._source.kind is MediaKind.VIDEO
        self._tracks = []
        for position, spec in enumerate(self._source.tracks):
            if spec.playlist_url is not None:
                spec = parse_media_playlist(
                    await self._playlist(spec.playlist_url), spec.playlist_url
                )
            track = _Track(position, spec.init, spec.fragments)
            if track.init is not None:
                track.init_path = self._path(position, "init")
                await self._download(track.init, track.init_path)
            self._tracks.append(track)
            first = await self._fetch(track, 0)
            track.on_disk.append(first)  # deleted by `close()` if it is not readable
            await self._read_streams(track, first)
            track.fetched_all = len(track.fragments) == 1
        self._origin_s = min(
            (p.pts_s for track in self._tracks for p in track.on_disk[0].packets), default=0.0
        )
        if want_video and self._keyframe_stream is None:
            raise SplitError("the source has no video stream")
        nominal = [sum(f.duration_s or 0.0 for f in track.fragments) for track in self._tracks]
        if not self._duration_s:
            self._duration_s = max(nominal, default=0.0)
        if self._duration_s <= 0:
            raise SplitError("the source has no known duration")
        if self._source.duration_check is not None:
            self._source.duration_check(max([self._duration_s, *nominal]))

    def _choose_streams(self, track: _Track, info: MediaInfo) -> None:
        if info.format_name not in _CONTAINERS:
            # e.g. HLS packed audio (raw AAC segments): its timestamps restart with each
            # fragment, so fragments read in batches would not line up with the picture
            raise SplitError(f"fragments in {info.format_name} cannot be cut as one stream")
        want_video = self._source.kind is MediaKind.VIDEO
        video = info.video if want_video else None
        audio = info.audio
        if len(self._source.tracks) == 2:
            # a DASH pair (or HLS with a separate audio rendition): picture first, sound second
            video, audio = (video, None) if track.index == 0 else (None, audio)
        if video is not None and video.codec_name not in _VIDEO_CODECS:
            raise SplitError(f"the video is {video.codec_name}, not H.264: it needs re-encoding")
        if audio is not None and audio.codec_name not in _AUDIO_CODECS:
            raise SplitError(f"the audio is {audio.codec_name}, not AAC: it needs re-encoding")
        streams = tuple(stream.index for stream in (video, audio) if stream is not None)
        if not streams:
            raise SplitError(f"track {track.index + 1} has no usable stream")
        if video is not None:
            self._keyframe_stream = _stream_id(track.index, video.index)
        track.streams = streams
        self._info.append(info)

    async def close(self) -> None:
        """Stop fetching and delete every fragment (the parts are the caller's)."""
        if self._fetcher is not None:
            self._fetcher.cancel()
            await asyncio.gather(self._fetcher, return_exceptions=True)
            self._fetcher = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        for track in self._tracks:
            for piece in track.on_disk + track.arrived:
                discard(piece.path)
            track.on_disk.clear()
            track.arrived.clear()
            discard(track.init_path)

    # ---- planning ---------------------------------------------------------------------------

    def estimate_parts(self, start_s: float, limit_bytes: int) -> int:
        """How many parts remain from `start_s`, from the bytes per second seen so far."""
        rate = self._seen_bytes / self._seen_s if self._seen_s > 0 else 0.0
        if self._source.estimated_bytes and self._duration_s:
            rate = rate or self._source.estimated_bytes / self._duration_s
        rest = rate * max(0.0, self._duration_s - start_s)
        return max(1, math.ceil(rest / (limit_bytes * HEADROOM * _TYPICAL_FILL)))

    def part_target(self, start_s: float, parts_left: int, limit_bytes: int) -> int | None:
        """Always `None`: each part is filled up to the limit (the rest is not on disk
        yet, so there is nothing to share evenly)."""
        del start_s, parts_left, limit_bytes
        return None

    async def survey(self, start_s: float, limit_bytes: int) -> None:
        """Start fetching from the fragment that holds `start_s`: the first part's
        fragments arrive while the sender gets ready, not once it asks for the cut.
        Nothing is read ahead to plan: fragments are read once, in order."""
        if not self._tracks:
            await self.open()
        self._limit_bytes = limit_bytes
        self._start_fetching(self._origin_s + start_s)

    def _start_fetching(self, start: float) -> None:
        """Fetch (once) from the fragment that holds `start` (a source time) on."""
        if self._fetcher is None:
            self._skip_before(start)
            self._fetcher = asyncio.create_task(self._read_all())

    async def cut(
        self, start_s: float, index: int, limit_bytes: int, *, target_bytes: int | None = None
    ) -> CutPart:
        """Write the part that starts at the keyframe at `start_s`, at most `limit_bytes`.

        Waits for the fragments it needs; raises `SplitError` when the source cannot be
        read, when `start_s` is before the fragments still on disk, or when the part comes
        out over the limit.
        """
        del target_bytes  # filled up to the limit: see `part_target`
        if not self._tracks:
            await self.open()
        self._limit_bytes = limit_bytes
        start = self._origin_s + start_s
        self._start_fetching(start)
        if start < self._cut_until - 0.001:
            gone = self._cut_until - self._origin_s
            raise SplitError(f"the fragments before {gone:.1f} s were already deleted")
        units, at_eof = await self._plan_window(start, limit_bytes)
        self._check_skip(start)
        budget = int(limit_bytes * HEADROOM)
        count = plan_part(units, budget, at_eof=at_eof, streams=self._streams)
        assert count is not None  # _plan_window waited until there is a plan
        first = units[0]
        after = units[count] if count < len(units) else None
        path = self._work_dir / f"{self._stem}-{index:03d}{self.suffix}"
        end_dts = after.start_dts_s - _SEEK_BEFORE_S if after is not None else None
        # the end of the stream: the last packet on disk (its own length is not known)
        last_pts = max((piece.last_pts for t in self._tracks for piece in t.on_disk), default=0.0)
        await self._run_cut(first.start_dts_s - _SEEK_BEFORE_S, end_dts, path)
        self._cut_until = after.start_s if after is not None else math.inf
        size = path.stat().st_size
        if size > limit_bytes:
            discard(path)
            raise SplitError(
                f"part {index + 1} came out at {size} bytes, over the {limit_bytes} byte limit"
            )
        end = after.start_s if after is not None else max(last_pts, first.start_s)
        end_s = end - self._origin_s
        logger.debug("cut part %d: %.3f-%.3f s, %d bytes", index, first.start_s, end_s, size)
        return CutPart(
            path=path,
            index=index,
            start_s=first.start_s - self._origin_s,
            end_s=end_s,
            size_bytes=size,
            is_last=after is None,
        )

    @property
    def _streams(self) -> int:
        return sum(len(track.streams) for track in self._tracks) or 2

    async def _plan_window(self, start: float, limit_bytes: int) -> tuple[list[CutUnit], bool]:
        """Cut units from `start` over the fragments on disk, once they hold a whole part
        (or the rest of the source): waits for the fetcher until then."""
        budget = int(limit_bytes * HEADROOM)
        while True:
            self._arrived.clear()
            if self._failure is not None:
                raise SplitError(f"reading the fragments failed: {self._failure}")
            at_eof = all(track.fetched_all for track in self._tracks)
            units = build_units(
                self._window_packets(at_eof), start_s=start, keyframe_stream=self._keyframe_stream
            )
            if units and plan_part(units, budget, at_eof=at_eof, streams=self._streams):
                self._starving = False
                return units, at_eof
            if at_eof:
                raise SplitError(f"nothing to cut after {start - self._origin_s:.3f} s")
            self._starving = True
            await self._arrived.wait()

    def _window_packets(self, at_eof: bool) -> list[Packet]:
        """The packets on disk, up to the time every track has reached (a track behind
        the others would leave the last units short of its packets)."""
        horizon = math.inf
        if not at_eof:
            for track in self._tracks:
                if not track.fetched_all:
                    reached = max((piece.last_pts for piece in track.on_disk), default=-math.inf)
                    horizon = min(horizon, reached)
        return [
            packet
            for track in self._tracks
            for piece in track.on_disk
            for packet in piece.packets
            if packet.pts_s <= horizon
        ]

    # ---- fetching ---------------------------------------------------------------------------

    def _skip_before(self, start: float) -> None:
        """Resuming at `start`: fetch from the fragment that holds it, by the nominal
        durations, a second to spare (the first fragment, the time origin, is on disk)."""
        for track in self._tracks:
            behind = [piece for piece in track.on_disk if piece.last_pts < start - 1.0]
            for piece in behind:
                discard(piece.path)
            track.on_disk[:] = [piece for piece in track.on_disk if piece not in behind]
        wanted = start - self._origin_s
        for track in self._tracks:
            if wanted <= 0 or any(f.duration_s is None for f in track.fragments):
                continue
            ends = itertools.accumulate(f.duration_s or 0.0 for f in track.fragments)
            track.skip = sum(1 for end in ends if end <= wanted - 1.0)

    def _check_skip(self, start: float) -> None:
        """After a resume skipped fragments by their stated durations: the first one read
        must begin at or before `start`, or media would be lost (durations that lie)."""
        for track in self._tracks:
            kept = track.on_disk[0] if track.on_disk else None
            if kept is None or not track.skip or kept.number != track.skip or not kept.packets:
                continue
            if min(packet.pts_s for packet in kept.packets) > start + 0.001:
                raise SplitError(
                    f"resuming at {start - self._origin_s:.1f} s: fragment "
                    f"{kept.number + 1} starts later than its stated durations say"
                )

    def _order(self) -> list[tuple[float, int, int]]:
        """(nominal start, track, number) of every fragment still to fetch, in time order."""
        order: list[tuple[float, int, int]] = []
        for track in self._tracks:
            fetched = {piece.number for piece in track.on_disk}
            starts = itertools.accumulate(
                (f.duration_s if f.duration_s is not None else 1.0 for f in track.fragments),
                initial=0.0,
            )
            for number, nominal in zip(range(len(track.fragments)), starts, strict=False):
                if number >= max(track.skip, 1) and number not in fetched:
                    order.append((nominal, track.index, number))
        return sorted(order)

    async def _read_all(self) -> None:
        """Fetch the fragments and read their packets, side by side: ffprobe reads in one
        run whatever arrived while it read the previous batch, so it keeps pace with the
        line however short the fragments are."""
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._fetch_all())
                group.create_task(self._probe_all())
        except* (RemoteReadError, SplitError, OSError) as failures:
            logger.warning("Reading fragments failed: %s", failures.exceptions[0])
            self._failure = failures.exceptions[0]
        finally:
            self._arrived.set()

    async def _fetch_all(self) -> None:
        """Fetch the fragments in time order, `_IN_FLIGHT` at once (a request's round trip
        is not a pause in the line), each once there is room for it on disk."""
        flying: collections.deque[tuple[_Track, asyncio.Task[_Piece]]] = collections.deque()
        try:
            for _, position, number in self._order():
                track = self._tracks[position]
                while flying and not await self._fits(track, len(flying) + 1):
                    await self._land(*flying[0])  # hand over what arrived, then wait
                    flying.popleft()
                await self._room_for(track, len(flying) + 1)
                flying.append((track, asyncio.create_task(self._fetch(track, number))))
                if len(flying) >= _IN_FLIGHT:
                    await self._land(*flying[0])
                    flying.popleft()
            while flying:
                await self._land(*flying[0])
                flying.popleft()
        finally:
            for _, task in flying:
                task.cancel()
            await asyncio.gather(*(task for _, task in flying), return_exceptions=True)
            for _, task in flying:  # fetched, but never handed over
                if not task.cancelled() and task.exception() is None:
                    discard(task.result().path)
        self._downloaded_all = True
        self._fetched.set()

    async def _land(self, track: _Track, task: asyncio.Task[_Piece]) -> None:
        track.arrived.append(await task)
        self._fetched.set()

    async def _probe_all(self) -> None:
        """Read the packets of the fragments as they arrive, a batch per track and run."""
        while True:
            self._fetched.clear()
            batches = [(track, list(track.arrived)) for track in self._tracks if track.arrived]
            if not batches and self._downloaded_all:
                for track in self._tracks:
                    track.fetched_all = True
                self._arrived.set()
                return
            if not batches:
                await self._fetched.wait()
                continue
            for track, pieces in batches:
                await self._read_packets(track, pieces)
                del track.arrived[: len(pieces)]
                track.on_disk.extend(pieces)
                self._arrived.set()

    async def _room_for(self, track: _Track, fragments: int) -> None:
        """Wait until `fragments` more fragments (the one to fetch, and those in flight)
        fit in the work folder's budget.

        A cut still short of a part when every fragment on disk has been read, and no
        part is on disk, gets the next fragment whatever the budget: fragments larger
        than about a third of the limit cannot be kept under it.
        """
        while not await self._fits(track, fragments):
            used = await asyncio.to_thread(_disk_in_use, self._work_dir, self._backlog)
            buffered = sum(p.size_bytes for t in self._tracks for p in t.on_disk)
            settled = fragments == 1 and not any(t.arrived for t in self._tracks)
            if self._starving and settled and used - buffered < (self._limit_bytes or 0) // 10:
                logger.info("Fragments of %d bytes do not fit the disk budget", self._largest)
                return
            await asyncio.sleep(_ROOM_POLL_S)

    async def _fits(self, track: _Track, fragments: int) -> bool:
        """Whether `fragments` more fragments of `track`, each as large as its largest so
        far, fit in the work folder's budget with what is there and what a running cut
        will still write."""
        expected = track.largest or self._largest
        used = await asyncio.to_thread(_disk_in_use, self._work_dir, self._backlog)
        return used + expected * fragments <= DISK_PARTS * (self._limit_bytes or 0)

    async def _fetch(self, track: _Track, number: int) -> _Piece:
        """Download fragment `number` of `track` and decrypt it; its packets are unread."""
        fragment = track.fragments[number]
        path = self._path(track.index, f"{number:06d}")
        await self._download(fragment, path)
        try:
            if fragment.key is not None:
                await self._decrypt(fragment.key, path)
            size = path.stat().st_size
        except BaseException:
            discard(path)
            raise
        self._largest = max(self._largest, size)
        track.largest = max(track.largest, size)
        self._seen_bytes += size
        return _Piece(track.index, number, path, size, [])

    async def _read_streams(self, track: _Track, piece: _Piece) -> None:
        """The streams of `track`, from its first fragment: which to take, their codecs."""
        feed = [track.init_path, piece.path] if track.init_path is not None else [piece.path]
        try:
            raw = await self._run_fed(lambda inputs: probe_command(inputs[0]), [feed])
        except MediaToolError as exc:
            raise SplitError(f"the first fragment is not readable media: {exc}") from exc
        self._choose_streams(track, parse_probe_output(raw, track.fragments[0].url))
        await self._read_packets(track, [piece])

    async def _read_packets(self, track: _Track, pieces: Sequence[_Piece]) -> None:
        """Read the packets of consecutive `pieces` of `track` in one ffprobe run; each
        packet goes to the piece its byte position falls in."""
        init = [track.init_path] if track.init_path is not None else []
        feed = [*init, *(piece.path for piece in pieces)]
        try:
            raw = await self._run_fed(
                lambda inputs: [FFPROBE, "-v", "error", *PACKET_ENTRIES, "-of", "compact=p=0",
                                "-i", inputs[0]],
                [feed],
            )  # fmt: skip
        except MediaToolError as exc:
            numbers = f"{pieces[0].number + 1}-{pieces[-1].number + 1}"
            raise SplitError(f"fragments {numbers} are not readable media: {exc}") from exc
        starts = list(
            itertools.accumulate(
                (piece.size_bytes for piece in pieces[:-1]),
                initial=track.init_path.stat().st_size if track.init_path is not None else 0,
            )
        )
        for packet in parse_packets(raw, track.streams):
            if packet.position is None:
                piece = pieces[-1]
            else:
                piece = pieces[max(0, bisect.bisect_right(starts, packet.position) - 1)]
            piece.packets.append(
                replace(packet, stream_index=_stream_id(track.index, packet.stream_index))
            )
        if track.index == 0:
            for piece in pieces:
                seconds = track.fragments[piece.number].duration_s
                if seconds is None and piece.packets:
                    seconds = piece.last_pts - min(p.pts_s for p in piece.packets)
                self._seen_s += seconds or 0.0

    async def _playlist(self, url: str) -> str:
        return (await self._read_small(url, _PLAYLIST_MAX_BYTES)).decode("utf-8", errors="replace")

    async def _read_small(self, url: str, most: int) -> bytes:
        """A small document (a playlist, a key) read whole through the guard."""
        assert self._session is not None
        headers = {**self._source.headers, "Accept-Encoding": "identity"}
        response = await open_checked(
            self._session, url, headers, url_check=self._source.url_check, proxy=self._proxy
        )
        try:
            if response.status != 200:
                raise RemoteReadError(f"HTTP {response.status} from {without_query(url)}")
            data = await response.content.read(most + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RemoteReadError(f"reading {without_query(url)} failed: {exc}") from exc
        finally:
            response.release()
        if len(data) > most:
            raise RemoteReadError(f"{without_query(url)} is larger than {most} bytes")
        self.fetched_bytes += len(data)
        return data

    async def _download(self, fragment: Fragment, path: Path) -> None:
        """Write `fragment` to `path`, through the guard; three tries on a broken read."""
        for attempt in itertools.count(1):
            try:
                await self._download_once(fragment, path)
                return
            except (
                aiohttp.ClientPayloadError,
                aiohttp.ServerDisconnectedError,
                TimeoutError,
            ) as exc:
                discard(path)
                if _FETCH_RETRY.gives_up_after(attempt):
                    raise RemoteReadError(
                        f"reading {without_query(fragment.url)} failed: {exc}"
                    ) from exc
                logger.info("Fetching %s again after: %s", without_query(fragment.url), exc)
                await asyncio.sleep(_FETCH_RETRY.delay_s(attempt))
            except BaseException:
                discard(path)
                raise

    async def _download_once(self, fragment: Fragment, path: Path) -> None:
        assert self._session is not None
        headers = {**self._source.headers, "Accept-Encoding": "identity"}
        skip, remaining = 0, -1
        if fragment.byte_range is not None:
            offset, length = fragment.byte_range
            headers["Range"] = f"bytes={offset}-{offset + length - 1}"
            remaining = length
        response = await open_checked(
            self._session,
            fragment.url,
            headers,
            url_check=self._source.url_check,
            proxy=self._proxy,
        )
        try:
            if response.status not in (200, 206):
                raise RemoteReadError(f"HTTP {response.status} from {without_query(fragment.url)}")
            if fragment.byte_range is not None and response.status == 200:
                skip = fragment.byte_range[0]  # the server ignored the range
            with path.open("wb") as output:
                pending = bytearray()
                async for chunk in response.content.iter_chunked(_PIPE_BYTES):
                    self.fetched_bytes += len(chunk)
                    if skip:
                        dropped = min(skip, len(chunk))
                        chunk, skip = chunk[dropped:], skip - dropped
                    if remaining >= 0:
                        chunk = chunk[:remaining]
                        remaining -= len(chunk)
                    pending += chunk
                    if len(pending) >= _CHUNK_BYTES:
                        await asyncio.to_thread(output.write, bytes(pending))
                        pending.clear()
                    if remaining == 0:
                        break
                await asyncio.to_thread(output.write, bytes(pending))
        finally:
            response.release()

    async def _decrypt(self, key: FragmentKey, path: Path) -> None:
        if key.url not in self._keys:
            secret = await self._read_small(key.url, 64)
            if len(secret) != 16:
                raise SplitError(f"the key at {without_query(key.url)} is not 16 bytes")
            self._keys[key.url] = secret
        secret = self._keys[key.url]

        def decrypt() -> None:
            data = aes_cbc_decrypt_bytes(path.read_bytes(), secret, key.iv)
            path.write_bytes(unpad_pkcs7(data))

        await asyncio.to_thread(decrypt)

    # ---- cutting ----------------------------------------------------------------------------

    async def _run_cut(self, start_dts: float, end_dts: float | None, path: Path) -> None:
        """One `ffmpeg -c copy` fed each track's fragments from `start_dts` to `end_dts`
        (decode times; None: to the end). Fragments wholly before the end are deleted as
        soon as they are fed."""
        feeds: list[list[Path]] = []
        consumed: set[Path] = set()
        for track in self._tracks:
            pieces = [
                piece
                for number, piece in enumerate(track.on_disk)
                if end_dts is None or number == 0 or piece.first_dts < end_dts
            ]
            init = [track.init_path] if track.init_path is not None else []
            feeds.append(init + [piece.path for piece in pieces])
            done = [p for p in pieces if end_dts is None or p.last_dts < end_dts]
            consumed.update(piece.path for piece in done)
            track.on_disk[:] = [piece for piece in track.on_disk if piece not in done]

        def command(inputs: Sequence[str]) -> list[str]:
            args = [FFMPEG, "-v", "error", "-nostdin", "-y", "-copyts"]
            for url in inputs:
                # room to read ahead: with two inputs, ffmpeg 5 naps 10 ms whenever the
                # queue of the input it needs next is empty (3 s a part at 8 packets)
                args += ["-thread_queue_size", _QUEUED_PACKETS, "-i", url]
            for position, track in enumerate(self._tracks):
                for stream in track.streams:
                    args += ["-map", f"{position}:{stream}"]
            args += ["-c", "copy", "-ss", f"{start_dts:.6f}"]
            if end_dts is not None:
                args += ["-to", f"{end_dts:.6f}"]
            args += ["-avoid_negative_ts", "make_zero", "-map_metadata", "-1"]
            if self._source.kind is MediaKind.VIDEO:
                args += ["-movflags", "+faststart"]
            return [*args, str(path)]

        try:
            self._backlog = _Backlog(path)
            await self._run_fed(command, feeds, consumed, self._backlog)
        except MediaToolError as exc:
            discard(path)
            raise SplitError(f"ffmpeg could not cut the part: {exc}") from exc
        except BaseException:
            discard(path)
            raise
        finally:
            self._backlog = None
            for consumed_path in consumed:
                discard(consumed_path)
            self._arrived.set()

    async def _run_fed(
        self,
        command: Callable[[Sequence[str]], list[str]],
        feeds: Sequence[Sequence[Path]],
        consumed: set[Path] | None = None,
        backlog: _Backlog | None = None,
    ) -> bytes:
        """Run ffmpeg or ffprobe with each feed's files written, in order, into a pipe it
        reads as an input (`command` gets the inputs' names); a file in `consumed` is
        deleted once written. Returns the tool's standard output."""
        pipes = [os.pipe() for _ in feeds]
        readers = [reader for reader, _ in pipes]
        args = command([f"pipe:{reader}" for reader in readers])
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=DEVNULL,
                stdout=PIPE,
                stderr=PIPE,
                pass_fds=readers,
                env=tool_environment(),
            )
        except BaseException:
            for _, writer in pipes:
                os.close(writer)
            raise
        finally:
            for reader in readers:
                os.close(reader)
        writers = [
            asyncio.to_thread(_feed, writer, files, consumed or set(), backlog)
            for (_, writer), files in zip(pipes, feeds, strict=True)
        ]
        communicating = asyncio.ensure_future(process.communicate())
        try:
            await asyncio.gather(communicating, *writers)
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise
        stdout, stderr = communicating.result()
        if process.returncode != 0:
            raise MediaToolError(args[0], process.returncode, stderr.decode(errors="replace"))
        return stdout

    def _path(self, track: int, name: str) -> Path:
        return self._work_dir / f".{self._stem}.t{track}.{name}.frag"


def _feed(
    writer: int, files: Sequence[Path], consumed: set[Path], backlog: _Backlog | None
) -> None:
    """Write `files` into the pipe `writer` (blocking; run in a thread), then close it.

    The reader may stop early (ffmpeg has what it needs, or failed): the rest is dropped.
    """
    try:
        for path in files:
            with path.open("rb") as source:
                while chunk := source.read(_PIPE_BYTES):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(writer, view) :]
            if path in consumed:
                if backlog is not None:
                    backlog.fed(path.stat().st_size)
                path.unlink(missing_ok=True)
    except BrokenPipeError:
        pass
    finally:
        os.close(writer)


def _disk_in_use(folder: Path, backlog: _Backlog | None) -> int:
    """The bytes of the files directly in `folder`, with a running cut's output counted
    as what it will become: the larger of what it has written and what it was fed (the
    fed count is read after the listing, so a fragment deleted meanwhile still counts)."""
    total = 0
    written = 0
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                    if backlog is not None and entry.path == str(backlog.output):
                        written = size
                    else:
                        total += size
    if backlog is None:
        return total
    return total + max(written, backlog.fed_bytes)
