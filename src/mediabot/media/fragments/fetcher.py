"""A fragmented source's fragments fetched in order of time, under a disk budget.

`FragmentFetcher` opens the tracks (each playlist read, each init and first fragment
fetched, the streams chosen, the time origin found), then, once started from a point in
time, fetches the fragments in time order through the guard, `_IN_FLIGHT` at once, and
reads their packets in batches as they arrive. A consumer (the fragment cutter) takes the
packets that have arrived (`snapshot`, `more`) and then the fragments it writes a part of
(`take`, `release`); fragments it has consumed are deleted.

The work folder (fragments, parts waiting or uploading, the part being written) is kept
under `DISK_PARTS` times the part limit, so the disk a delivery takes does not grow with
the length of the source: a fragment is fetched only once there is room for it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mediabot.domain.enums import MediaKind
from mediabot.media.fragments import packets
from mediabot.media.fragments.client import FragmentClient
from mediabot.media.fragments.disk import Backlog, disk_in_use
from mediabot.media.fragments.playlist import FragmentTrack, parse_media_playlist
from mediabot.media.fragments.track import (
    Piece,
    Track,
    fetch_order,
    fragments_before,
    window_packets,
)
from mediabot.media.parts import SplitError, chosen_streams
from mediabot.media.plan import stream_id
from mediabot.media.probe import MediaInfo, Packet
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.tools import discard

logger = logging.getLogger(__name__)

DISK_PARTS = 2.9
"""The work folder holds at most this many parts' worth of bytes (a margin under 3)."""
_ROOM_POLL_S = 0.05
"""How often the fetcher looks again for room (parts are deleted by the sender)."""
_IN_FLIGHT = 2
_CONTAINERS = frozenset({"mpegts", "mov,mp4,m4a,3gp,3g2,mj2"})
"""ffprobe's names of the containers whose fragments carry their own timestamps."""
_VIDEO_CODECS = frozenset({"h264"})
_AUDIO_CODECS = frozenset({"aac"})


@dataclass(slots=True)
class Feed:
    """The fragments one cut is fed: per track, its init and fragments in order; those in
    `consumed` are deleted once fed, counted meanwhile by `backlog`."""

    files: list[list[Path]]
    backlog: Backlog
    consumed: set[Path] = field(default_factory=set)


class FragmentFetcher:
    """Fetches the fragments of `tracks` (one muxed, or video then audio) with `client`
    into `work_dir`, and reads the packets of the streams a `kind` part takes.

    `open` before anything, `close` after (it closes the client and deletes every fragment
    left). Times are the source's own timestamps; `origin_s` is the first fragment's first
    packet.
    """

    def __init__(
        self,
        tracks: Sequence[FragmentTrack],
        kind: MediaKind,
        client: FragmentClient,
        work_dir: Path,
        *,
        stem: str,
    ) -> None:
        self._specs = tuple(tracks)
        self._kind = kind
        self._client = client
        self._work_dir = work_dir
        self._stem = stem
        self.tracks: list[Track] = []
        self.infos: list[MediaInfo] = []
        """What ffprobe says of each track's first fragment."""
        self.keyframe_stream: int | None = None
        """The picture's `stream_id`, once open; None without a picture."""
        self.origin_s = 0.0
        self.limit_bytes: int | None = None
        """The part limit, which the disk budget is `DISK_PARTS` of."""
        self._backlog: Backlog | None = None
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._arrived = asyncio.Event()
        self._fetched = asyncio.Event()
        self._downloaded_all = False
        self._starving = False
        self._seen_bytes = 0
        self._seen_s = 0.0
        self._largest = 0

    @property
    def fetched_bytes(self) -> int:
        """Bytes read from the origin so far (fragments, inits, playlists, keys)."""
        return self._client.fetched_bytes

    @property
    def bytes_per_second(self) -> float:
        """The source's rate as the fragments read so far show it (0 before any)."""
        return self._seen_bytes / self._seen_s if self._seen_s > 0 else 0.0

    @property
    def nominal_durations(self) -> list[float]:
        """Each track's length as its fragments' listed durations say."""
        return [track.nominal_s for track in self.tracks]

    async def open(self) -> None:
        """Read the playlists and each track's first fragment: the streams, the time origin.

        Raises `SplitError` when a track cannot be read, is not H.264/AAC or lacks the
        stream the kind needs, `RemoteReadError` when an origin cannot be read.
        """
        self._client.open()
        self.tracks = []
        for position, spec in enumerate(self._specs):
            if spec.playlist_url is not None:
                text = await self._client.playlist(spec.playlist_url)
                spec = parse_media_playlist(text, spec.playlist_url)
            track = Track(position, spec.init, spec.fragments)
            if track.init is not None:
                track.init_path = self._path(position, "init")
                await self._client.fetch(track.init, track.init_path)
            self.tracks.append(track)
            first = await self._fetch(track, 0)
            track.on_disk.append(first)  # deleted by `close()` if it is not readable
            self._choose_streams(track, await packets.read_streams(track, first))
            await self._read_packets(track, [first])
            track.fetched_all = len(track.fragments) == 1
        self.origin_s = min(
            (p.pts_s for track in self.tracks for p in track.on_disk[0].packets), default=0.0
        )

    def _choose_streams(self, track: Track, info: MediaInfo) -> None:
        if info.format_name not in _CONTAINERS:
            # e.g. HLS packed audio (raw AAC segments): its timestamps restart with each
            # fragment, so fragments read in batches would not line up with the picture
            raise SplitError(f"fragments in {info.format_name} cannot be cut as one stream")
        video, audio = chosen_streams(info, self._kind, track.index, len(self._specs))
        if video is not None and video.codec_name not in _VIDEO_CODECS:
            raise SplitError(f"the video is {video.codec_name}, not H.264: it needs re-encoding")
        if audio is not None and audio.codec_name not in _AUDIO_CODECS:
            raise SplitError(f"the audio is {audio.codec_name}, not AAC: it needs re-encoding")
        streams = tuple(stream.index for stream in (video, audio) if stream is not None)
        if not streams:
            raise SplitError(f"track {track.index + 1} has no usable stream")
        if video is not None:
            self.keyframe_stream = stream_id(track.index, video.index)
        track.streams = streams
        self.infos.append(info)

    async def close(self) -> None:
        """Stop fetching and delete every fragment (the parts are the consumer's)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._client.close()
        for track in self.tracks:
            for piece in track.on_disk + track.arrived:
                discard(piece.path)
            track.on_disk.clear()
            track.arrived.clear()
            discard(track.init_path)

    def start(self, start: float) -> None:
        """Fetch (once) from the fragment that holds `start` (a source time) on."""
        if self._task is None:
            self._skip_before(start)
            self._task = asyncio.create_task(self._read_all())

    def snapshot(self) -> tuple[list[Packet], bool]:
        """The packets on disk up to the time every track has reached, and whether they
        are the whole rest of the source. What arrives after this call ends the next
        `more()`; raises `SplitError` once fetching has failed."""
        self._arrived.clear()
        self._starving = False
        if self._failure is not None:
            raise SplitError(f"reading the fragments failed: {self._failure}")
        at_eof = all(track.fetched_all for track in self.tracks)
        return window_packets(self.tracks, at_eof), at_eof

    async def more(self) -> None:
        """Wait for fragments to arrive after the last `snapshot`, which was short of a
        part: while every fragment on disk is read and no part is on disk, the next
        fragment is fetched whatever the budget (see `_room_for`)."""
        self._starving = True
        await self._arrived.wait()

    def last_pts(self) -> float:
        """The latest packet on disk (0 without one)."""
        return max((piece.last_pts for t in self.tracks for piece in t.on_disk), default=0.0)

    def check_resume(self, start: float) -> None:
        """After a resume skipped fragments by their listed durations: the first one read
        must begin at or before `start`, or media would be lost (durations that lie)."""
        for track in self.tracks:
            kept = track.on_disk[0] if track.on_disk else None
            if kept is None or not track.skip or kept.number != track.skip or not kept.packets:
                continue
            if kept.first_pts > start + 0.001:
                raise SplitError(
                    f"resuming at {start - self.origin_s:.1f} s: fragment "
                    f"{kept.number + 1} starts later than its stated durations say"
                )

    def take(self, end_dts: float | None, output: Path) -> Feed:
        """The fragments of each track up to `end_dts` (a decode time; None: all), for a
        cut into `output`. Those wholly before it are handed over: no longer the
        fetcher's, deleted as they are fed, and counted as disk in use until `release`."""
        feed = Feed([], Backlog(output))
        for track in self.tracks:
            pieces = [
                piece
                for number, piece in enumerate(track.on_disk)
                if end_dts is None or number == 0 or piece.first_dts < end_dts
            ]
            init = [track.init_path] if track.init_path is not None else []
            feed.files.append(init + [piece.path for piece in pieces])
            done = [p for p in pieces if end_dts is None or p.last_dts < end_dts]
            feed.consumed.update(piece.path for piece in done)
            track.on_disk[:] = [piece for piece in track.on_disk if piece not in done]
        self._backlog = feed.backlog
        return feed

    def release(self, feed: Feed) -> None:
        """The cut fed `feed` has ended: its handed-over fragments are deleted (those not
        fed yet) and no longer counted."""
        self._backlog = None
        for path in feed.consumed:
            discard(path)
        self._arrived.set()

    def _skip_before(self, start: float) -> None:
        """Resuming at `start`: fetch from the fragment that holds it, by the nominal
        durations, a second to spare (the first fragment, the time origin, is on disk)."""
        for track in self.tracks:
            behind = [piece for piece in track.on_disk if piece.last_pts < start - 1.0]
            for piece in behind:
                discard(piece.path)
            track.on_disk[:] = [piece for piece in track.on_disk if piece not in behind]
        for track in self.tracks:
            track.skip = fragments_before(track.fragments, start - self.origin_s)

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
        flying: collections.deque[tuple[Track, asyncio.Task[Piece]]] = collections.deque()
        try:
            for _, position, number in fetch_order(self.tracks):
                track = self.tracks[position]
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

    async def _land(self, track: Track, task: asyncio.Task[Piece]) -> None:
        track.arrived.append(await task)
        self._fetched.set()

    async def _probe_all(self) -> None:
        """Read the packets of the fragments as they arrive, a batch per track and run."""
        while True:
            self._fetched.clear()
            batches = [(track, list(track.arrived)) for track in self.tracks if track.arrived]
            if not batches and self._downloaded_all:
                for track in self.tracks:
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

    async def _room_for(self, track: Track, fragments: int) -> None:
        """Wait until `fragments` more fragments (the one to fetch, and those in flight)
        fit in the work folder's budget.

        A cut still short of a part when every fragment on disk has been read, and no
        part is on disk, gets the next fragment whatever the budget: fragments larger
        than about a third of the limit cannot be kept under it.
        """
        while not await self._fits(track, fragments):
            used = await asyncio.to_thread(disk_in_use, self._work_dir, self._backlog)
            buffered = sum(p.size_bytes for t in self.tracks for p in t.on_disk)
            settled = fragments == 1 and not any(t.arrived for t in self.tracks)
            if self._starving and settled and used - buffered < (self.limit_bytes or 0) // 10:
                logger.info("Fragments of %d bytes do not fit the disk budget", self._largest)
                return
            await asyncio.sleep(_ROOM_POLL_S)

    async def _fits(self, track: Track, fragments: int) -> bool:
        """Whether `fragments` more fragments of `track`, each as large as its largest so
        far, fit in the work folder's budget with what is there and what a running cut
        will still write."""
        expected = track.largest or self._largest
        used = await asyncio.to_thread(disk_in_use, self._work_dir, self._backlog)
        return used + expected * fragments <= DISK_PARTS * (self.limit_bytes or 0)

    async def _fetch(self, track: Track, number: int) -> Piece:
        """Download fragment `number` of `track` and decrypt it; its packets are unread."""
        path = self._path(track.index, f"{number:06d}")
        size = await self._client.fetch(track.fragments[number], path)
        self._largest = max(self._largest, size)
        track.largest = max(track.largest, size)
        self._seen_bytes += size
        return Piece(track.index, number, path, size, [])

    async def _read_packets(self, track: Track, pieces: Sequence[Piece]) -> None:
        """Read the packets of `pieces`; the first track's count towards the seconds seen."""
        await packets.read_packets(track, pieces)
        if track.index == 0:
            for piece in pieces:
                seconds = track.fragments[piece.number].duration_s
                if seconds is None and piece.packets:
                    seconds = piece.last_pts - piece.first_pts
                self._seen_s += seconds or 0.0

    def _path(self, track: int, name: str) -> Path:
        return self._work_dir / f".{self._stem}.t{track}.{name}.frag"
