"""Fragmented sources (HLS playlists, segmented DASH) cut into parts while they arrive.

`SegmentSplitter` serves HLS (TS or fMP4, AES-128 or clear) and DASH alike. Its fetcher
(`fragments.fetcher.FragmentFetcher`) reads the fragments in order of time through the
private-network guard and reads their packets; `cut` plans a part from the packets that
have arrived with the same rules as the file cutter (`plan.build_units`, `plan.plan_part`:
a part starts at a keyframe and is filled close to the limit), and writes it with one
`ffmpeg -c copy` fed the fragments through pipes: a fragment wholly before the part's end
is deleted as soon as ffmpeg has it, so the part takes the place of the fragments it is
made from, and the work folder stays under `fetcher.DISK_PARTS` parts.

Times given to and returned by `cut` count from the start of the stream (the first
fragment's first packet), as the file cutter's do, so a delivery interrupted after part i
resumes at part i+1 from the fragment that holds its start.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

from mediabot.domain.enums import MediaKind
from mediabot.media.fragments.client import FragmentClient
from mediabot.media.fragments.fetcher import FragmentFetcher
from mediabot.media.parts import (
    CutPart,
    SplitError,
    check_opened,
    copy_output_args,
    part_path,
    part_suffix,
)
from mediabot.media.plan import CutUnit, build_units, parts_needed, plan_part
from mediabot.media.probe import StreamInfo
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.sources import SegmentedSource
from mediabot.media.tools import FFMPEG, MediaToolError, discard, run_fed

logger = logging.getLogger(__name__)

HEADROOM = 0.98
"""Share of the limit a part is planned to fill. A fragment is gone once cut, so a part
that comes out over the limit cannot be cut again: the margin is wider than the file
cutter's (measured: TS payloads lose ~1 % going into MP4, fMP4 keep their size)."""
_TYPICAL_FILL = 0.97
"""A part filled up to the limit ends at a keyframe, about half a keyframe gap short."""
_SEEK_BEFORE_S = 0.0005
"""ffmpeg starts and ends a copied stream by decode time: cut just before a keyframe's."""
_QUEUED_PACKETS = "4096"


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
        client = FragmentClient(source.headers, source.url_check)
        self._fetcher = FragmentFetcher(source.tracks, source.kind, client, work_dir, stem=stem)
        self._duration_s = source.duration_s or 0.0
        self._cut_until = -math.inf

    async def __aenter__(self) -> SegmentSplitter:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def fetched_bytes(self) -> int:
        """Bytes read from the origin so far (fragments, inits, playlists, keys)."""
        return self._fetcher.fetched_bytes

    @property
    def duration_s(self) -> float:
        return self._duration_s

    @property
    def video(self) -> StreamInfo | None:
        """The picture stream, once `open()` has run."""
        if self._source.kind is not MediaKind.VIDEO:
            return None
        return next((info.video for info in self._fetcher.infos if info.video is not None), None)

    @property
    def suffix(self) -> str:
        return part_suffix(self._source.kind)

    async def open(self) -> None:
        """Read the playlists and each track's first fragment: the streams, the time origin.

        Raises `SplitError` when a track cannot be read, is not H.264/AAC, or lacks the
        stream the kind needs, and whatever the source's `duration_check` raises.
        """
        try:
            await self._fetcher.open()
        except RemoteReadError as exc:
            raise SplitError(str(exc)) from exc
        nominal = self._fetcher.nominal_durations
        if not self._duration_s:
            self._duration_s = max(nominal, default=0.0)
        check_opened(self._source.kind, self._fetcher.keyframe_stream, self._duration_s)
        if self._source.duration_check is not None:
            self._source.duration_check(max([self._duration_s, *nominal]))

    async def close(self) -> None:
        """Stop fetching and delete every fragment (the parts are the caller's)."""
        await self._fetcher.close()

    def estimate_parts(self, start_s: float, limit_bytes: int) -> int:
        """How many parts remain from `start_s`, from the bytes per second seen so far."""
        rate = self._fetcher.bytes_per_second
        if self._source.estimated_bytes and self._duration_s:
            rate = rate or self._source.estimated_bytes / self._duration_s
        rest = rate * max(0.0, self._duration_s - start_s)
        return parts_needed(rest, limit_bytes * HEADROOM * _TYPICAL_FILL)

    def part_target(self, start_s: float, parts_left: int, limit_bytes: int) -> int | None:
        """Always `None`: each part is filled up to the limit (the rest is not on disk
        yet, so there is nothing to share evenly)."""
        del start_s, parts_left, limit_bytes
        return None

    async def survey(self, start_s: float, limit_bytes: int) -> None:
        """Start fetching from the fragment that holds `start_s`: the first part's
        fragments arrive while the sender gets ready, not once it asks for the cut.
        Nothing is read ahead to plan: fragments are read once, in order."""
        if not self._fetcher.tracks:
            await self.open()
        self._fetcher.limit_bytes = limit_bytes
        self._fetcher.start(self._fetcher.origin_s + start_s)

    async def cut(
        self, start_s: float, index: int, limit_bytes: int, *, target_bytes: int | None = None
    ) -> CutPart:
        """Write the part that starts at the keyframe at `start_s`, at most `limit_bytes`.

        Waits for the fragments it needs; raises `SplitError` when the source cannot be
        read, when `start_s` is before the fragments still on disk, or when the part comes
        out over the limit.
        """
        del target_bytes  # filled up to the limit: see `part_target`
        if not self._fetcher.tracks:
            await self.open()
        origin = self._fetcher.origin_s
        self._fetcher.limit_bytes = limit_bytes
        start = origin + start_s
        self._fetcher.start(start)
        if start < self._cut_until - 0.001:
            gone = self._cut_until - origin
            raise SplitError(f"the fragments before {gone:.1f} s were already deleted")
        budget = int(limit_bytes * HEADROOM)
        units, count = await self._plan(start, budget)
        self._fetcher.check_resume(start)
        first = units[0]
        after = units[count] if count < len(units) else None
        path = part_path(self._work_dir, self._stem, index, self._source.kind)
        end_dts = after.start_dts_s - _SEEK_BEFORE_S if after is not None else None
        # the end of the stream: the last packet on disk (its own length is not known)
        last_pts = self._fetcher.last_pts()
        await self._write(first.start_dts_s - _SEEK_BEFORE_S, end_dts, path)
        self._cut_until = after.start_s if after is not None else math.inf
        size = path.stat().st_size
        if size > limit_bytes:
            discard(path)
            raise SplitError(
                f"part {index + 1} came out at {size} bytes, over the {limit_bytes} byte limit"
            )
        end = after.start_s if after is not None else max(last_pts, first.start_s)
        end_s = end - origin
        logger.debug("cut part %d: %.3f-%.3f s, %d bytes", index, first.start_s, end_s, size)
        return CutPart(
            path=path,
            index=index,
            start_s=first.start_s - origin,
            end_s=end_s,
            size_bytes=size,
            is_last=after is None,
        )

    @property
    def _streams(self) -> int:
        return sum(len(track.streams) for track in self._fetcher.tracks) or 2

    async def _plan(self, start: float, budget: int) -> tuple[list[CutUnit], int]:
        """Cut units from `start` over the fragments on disk and how many make the part,
        once they hold a whole part (or the rest of the source): waits for the fetcher
        until then."""
        while True:
            packets, at_eof = self._fetcher.snapshot()
            units = build_units(
                packets, start_s=start, keyframe_stream=self._fetcher.keyframe_stream
            )
            count = plan_part(units, budget, at_eof=at_eof, streams=self._streams)
            if units and count:
                return units, count
            if at_eof:
                raise SplitError(f"nothing to cut after {start - self._fetcher.origin_s:.3f} s")
            await self._fetcher.more()

    async def _write(self, start_dts: float, end_dts: float | None, path: Path) -> None:
        """One `ffmpeg -c copy` fed each track's fragments from `start_dts` to `end_dts`
        (decode times; None: to the end). Fragments wholly before the end are deleted as
        soon as they are fed."""
        feed = self._fetcher.take(end_dts, path)
        streams = [track.streams for track in self._fetcher.tracks]
        kind = self._source.kind

        def command(inputs: Sequence[str]) -> list[str]:
            return cut_command(inputs, streams, start_dts, end_dts, kind, path)

        try:
            await run_fed(command, feed.files, consumed=feed.consumed, on_consumed=feed.backlog.fed)
        except MediaToolError as exc:
            discard(path)
            raise SplitError(f"ffmpeg could not cut the part: {exc}") from exc
        except BaseException:
            discard(path)
            raise
        finally:
            self._fetcher.release(feed)


def cut_command(
    inputs: Sequence[str],
    streams: Sequence[tuple[int, ...]],
    start_dts: float,
    end_dts: float | None,
    kind: MediaKind,
    path: Path,
) -> list[str]:
    """The `ffmpeg -c copy` of the part from `start_dts` to `end_dts` (decode times of the
    source; None: to the end) of `inputs`, each a track fed through a pipe, taking each
    track's `streams`, into `path`."""
    args = [FFMPEG, "-v", "error", "-nostdin", "-y", "-copyts"]
    for url in inputs:
        # room to read ahead: with two inputs, ffmpeg 5 naps 10 ms whenever the
        # queue of the input it needs next is empty (3 s a part at 8 packets)
        args += ["-thread_queue_size", _QUEUED_PACKETS, "-i", url]
    for position, indexes in enumerate(streams):
        for stream in indexes:
            args += ["-map", f"{position}:{stream}"]
    args += ["-c", "copy", "-ss", f"{start_dts:.6f}"]
    if end_dts is not None:
        args += ["-to", f"{end_dts:.6f}"]
    return args + copy_output_args(kind, path)
