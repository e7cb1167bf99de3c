"""Cut media into playable parts under a byte limit, at keyframes, without re-encoding.

A part is planned from packet sizes, read with ffprobe over a window that starts at the
part's first keyframe; only that window is read, so a remote source (an HTTP URL read
with range requests) is never downloaded as a whole before the first part exists. Each
cut is `ffmpeg -c copy`; a part that still comes out over the limit is cut again over a
shorter range, so the limit is guaranteed by bytes on disk, not hoped for by bit rate.

Remote inputs are read through `RemoteInputs`, a loopback read-through cache, so the tools
never talk to the origin themselves and each byte comes from it once. A plain MP4 is planned
from its index view (sample sizes and keyframes from its `moov`, its data all zeros): the
planning reads nothing from the origin, and ffmpeg's cut reads the part's bytes once, the
cache dropping them as it goes. Other inputs are planned from the data of a window, which
the cache keeps (`_CACHE_SHARE` of a part) until ffmpeg's cut has read it again. Either way a
remote part is filled up to the limit like a local one.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mediabot.domain.enums import MediaKind
from mediabot.media.probe import MediaInfo, Packet, ProbeError, StreamInfo, probe, read_packets
from mediabot.media.tools import FFMPEG, MediaToolError, discard, run_tool

if TYPE_CHECKING:  # aiohttp is imported only when a remote source is read
    from mediabot.media.remote import RemoteInputs, UrlCheck

logger = logging.getLogger(__name__)

HEADROOM = 0.995
"""Share of the limit a plan may fill, container overhead included (`part_overhead`);
the rest is a margin for a wrong estimate. A part that still comes out over the limit
is cut again, so the margin only has to make that rare, not impossible."""
MIN_FILL = 0.9
"""Every part but the last aims at least at this share of the limit (see `part_target`)."""
_REMOTE_HEADROOM = 0.99
"""A remote part over the limit is cut again from the origin (the cut dropped what it read
from the cache): a wider margin makes that rarer."""
_PART_OVERHEAD_BYTES = 4 * 1024
_STREAM_OVERHEAD_BYTES = 1024
_PACKET_OVERHEAD_BYTES = 16
"""An MP4's sample tables grow with its samples: stsz 4 bytes, ctts up to 8, and a share
of stts, stss, stsc and stco; measured about 9 bytes a packet without B-frames."""
_AUDIO_UNIT_S = 0.5
_SEEK_PAST_S = 0.001
"""Seek just past a cut point: ffmpeg seeks to the keyframe at or before the target."""
_END_BEFORE_S = 0.0005
_MIN_WINDOW_S = 8.0
_RECUT_FACTOR = 0.95
_REMOTE_SPAN_FACTOR = 1.05
_REMOTE_GROWTH = 1.25
"""Windows read from a remote source's data start just long enough and grow gently: a longer
window re-reads its cached prefix for free, while one over the cache budget would evict its
own start."""
_CACHE_SHARE = 1.5
"""The remote cache holds this much of the part limit while parts are planned from the data:
a part's window filled up to the limit, its run-out (a keyframe gap and a second), and a
margin for a bit rate above the average. With the part before it on disk, 2.5 parts."""
_INDEXED_CACHE_SHARE = 0.9
"""The remote cache while parts are planned from the index: it holds the first part's bytes
fetched ahead (`_FETCH_AHEAD_SHARE`), later only ffmpeg's read-ahead (the cut drops the
blocks it went past). With a part uploading and one being cut, under 3 parts in all."""
_FETCH_AHEAD_SHARE = 0.8
_OPEN_CACHE_BYTES = 16 * 1024 * 1024
"""Cache budget while probing, before a part size is known."""


class SplitError(Exception):
    """The media cannot be cut under the limit without re-encoding, or cannot be read."""


DurationCheck = Callable[[float], None]
"""Called with a source's duration once it is read, before any part is cut; raises (the
caller's own error) to refuse the source."""


@dataclass(frozen=True, slots=True)
class SplitSource:
    """What to cut: one muxed input, or a video-only input plus an audio-only input.

    Inputs are local paths or HTTP(S) URLs; `duration_s` is used when the container does
    not state one. `kind` decides the output container: MP4 for video, M4A for audio.
    `headers` go with every request for a URL input (yt-dlp's `http_headers`, cookies);
    `url_check` is called on every URL requested, redirect targets included, before the
    request is made (the private-network guard), and raises to refuse it.
    `duration_check` is called with the duration the inputs really have (`open`).
    """

    inputs: tuple[str | Path, ...]
    kind: MediaKind
    duration_s: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict, hash=False, repr=False)
    url_check: UrlCheck | None = field(default=None, compare=False, repr=False)
    duration_check: DurationCheck | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.inputs) <= 2:
            raise ValueError("a split source has one muxed input or one video and one audio")
        if self.kind not in (MediaKind.VIDEO, MediaKind.AUDIO):
            raise ValueError("only video and audio can be split")

    @property
    def is_stream(self) -> bool:
        """True when every input is read over the network rather than from disk."""
        return all(_is_url(source) for source in self.inputs)


def _is_url(source: str | Path) -> bool:
    return str(source).startswith(("http://", "https://"))


@dataclass(frozen=True, slots=True)
class CutUnit:
    """The stretch from one cut point to the next: nothing inside it can be cut apart."""

    start_s: float
    start_dts_s: float
    size_bytes: int
    packets: int


@dataclass(frozen=True, slots=True)
class CutPart:
    """One part on disk: index (0-based), its time range in the source, its size."""

    path: Path
    index: int
    start_s: float
    end_s: float
    size_bytes: int
    is_last: bool

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


class PartCutter(Protocol):
    """What a large-file sender cuts parts with: `Splitter` (files, remote files) or
    `SegmentSplitter` (HLS and DASH fragments)."""

    @property
    def video(self) -> StreamInfo | None: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def survey(self, start_s: float, limit_bytes: int) -> None: ...

    def estimate_parts(self, start_s: float, limit_bytes: int) -> int: ...

    def part_target(self, start_s: float, parts_left: int, limit_bytes: int) -> int | None: ...

    async def cut(
        self, start_s: float, index: int, limit_bytes: int, *, target_bytes: int | None = None
    ) -> CutPart: ...


def part_overhead(packets: int, streams: int = 2) -> int:
    """Estimated container bytes a part adds to its payload: headers (ftyp, moov, one
    trak per stream, mdat) and sample tables, which grow with the number of packets."""
    return (
        _PART_OVERHEAD_BYTES + _STREAM_OVERHEAD_BYTES * streams + (_PACKET_OVERHEAD_BYTES * packets)
    )


def plan_part(
    units: Sequence[CutUnit],
    budget_bytes: int,
    *,
    at_eof: bool,
    target_bytes: int | None = None,
    streams: int = 2,
) -> int | None:
    """How many leading `units` make one part: never over `budget_bytes` (with overhead),
    and stopping once `target_bytes` of payload is reached when a target is given.

    Without `at_eof` the last unit is incomplete (its end is not known yet) and is never
    taken; `None` means the units ran out first, so a longer window is needed. A first
    unit larger than the budget is still returned alone (count 1): the caller finds out
    from the cut file whether it fits.
    """
    usable = len(units) if at_eof else len(units) - 1
    total = 0
    packets = 0
    for count in range(1, usable + 1):
        unit = units[count - 1]
        total += unit.size_bytes
        packets += unit.packets
        if total + part_overhead(packets, streams) > budget_bytes:
            return max(1, count - 1)
        if target_bytes is not None and total >= target_bytes:
            return count
    if at_eof and usable > 0:
        return usable
    return None


def build_units(
    packets: Sequence[Packet], *, start_s: float, keyframe_stream: int | None
) -> list[CutUnit]:
    """Group packets into cut units beginning at or after `start_s`.

    Cut points are the keyframes of `keyframe_stream`, or every half second of audio when
    there is no video. Packets of every stream count towards the unit their pts falls in.
    """
    floor = start_s - _SEEK_PAST_S
    if keyframe_stream is not None:
        points = sorted(
            (packet.pts_s, packet.dts_s)
            for packet in packets
            if packet.stream_index == keyframe_stream and packet.keyframe and packet.pts_s >= floor
        )
    else:
        points = []
        for packet in sorted(packets, key=lambda item: item.pts_s):
            if packet.pts_s < floor:
                continue
            if not points or packet.pts_s >= points[-1][0] + _AUDIO_UNIT_S:
                points.append((packet.pts_s, packet.pts_s))
    if not points:
        return []
    starts = [point[0] for point in points]
    sizes = [0] * len(points)
    counts = [0] * len(points)
    for packet in packets:
        if packet.pts_s < starts[0]:
            continue
        position = bisect.bisect_right(starts, packet.pts_s) - 1
        sizes[position] += packet.size_bytes
        counts[position] += 1
    return [
        CutUnit(start_s=pts, start_dts_s=dts, size_bytes=sizes[i], packets=counts[i])
        for i, (pts, dts) in enumerate(points)
    ]


def _stream_id(position: int, index: int) -> int:
    return position * 1000 + index


@dataclass(frozen=True, slots=True)
class _Input:
    source: str
    info: MediaInfo
    stream_indexes: tuple[int, ...]
    map_spec: tuple[str, ...]
    input_args: tuple[str, ...] = ()
    index: str | None = None
    """A remote MP4's index view, which parts are planned from (free: its data is zeros)."""

    @property
    def planned_from(self) -> str:
        return self.index or self.source

    @property
    def plan_args(self) -> tuple[str, ...]:
        return (*self.input_args, *_INDEX_INPUT_ARGS) if self.index else self.input_args

    @property
    def plans_free(self) -> bool:
        """Planning reads nothing from an origin: a file on disk, or an index view."""
        return self.index is not None or not _is_url(self.source)


_LOOPBACK_INPUT_ARGS = ("-recv_buffer_size", "65536")
"""A small socket buffer for reading the loopback cache: what ffmpeg has not asked for yet
is not fetched from the origin just to sit in a buffer that it throws away on a seek."""


_INDEX_INPUT_ARGS = ("-fflags", "+nofillin+noparse")
"""Packets of an index view as the container states them: its data is zeros, which a codec
parser would read as no keyframe at all."""


class Splitter:
    """Cuts one `SplitSource` into parts, one call per part, in any order of start times.

    `open()` probes the inputs once; `cut(start_s, index, limit_bytes)` writes the part
    that starts at the cut point `start_s` into `work_dir` and returns it. The caller owns
    the files it gets back and deletes them. `close()` (or `async with`) ends the remote
    reading and deletes its cache; besides the parts, a splitter keeps at most
    `_INDEXED_CACHE_SHARE` of a part's worth of source bytes in `work_dir` for MP4s
    planned from their index, `_CACHE_SHARE` for other remote inputs.
    """

    def __init__(
        self, source: SplitSource, work_dir: Path, *, stem: str = "part", first_part_bytes: int = 0
    ) -> None:
        """`first_part_bytes`: the limit of the first part when it starts at the beginning
        (0 otherwise); a remote source's first bytes are then fetched while it is probed."""
        self._source = source
        self._first_part_bytes = first_part_bytes
        self._work_dir = work_dir
        self._stem = stem
        self._inputs: list[_Input] = []
        self._duration_s = source.duration_s or 0.0
        self._bit_rate = 0
        self._keyframe_stream: tuple[int, int] | None = None
        self._remote: RemoteInputs | None = None
        self._seen_units = 0
        self._seen_bytes = 0
        self._seen_packets = 0
        self._last_window: tuple[float, list[CutUnit], bool] | None = None
        self._ahead: tuple[float, asyncio.Task[tuple[list[CutUnit], bool]]] | None = None
        """The window of the next part, read while the part before it is cut and sent."""

    async def __aenter__(self) -> Splitter:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reading remote inputs and delete the cache (parts are the caller's)."""
        await self._drop_ahead()
        if self._remote is not None:
            remote, self._remote = self._remote, None
            await remote.close()

    @property
    def fetched_bytes(self) -> int:
        """Bytes read from remote origins so far (0 for local inputs)."""
        return self._remote.fetched_bytes if self._remote is not None else 0

    @property
    def duration_s(self) -> float:
        return self._duration_s

    @property
    def video(self) -> StreamInfo | None:
        """The picture stream of the source, once `open()` has run."""
        for source in self._inputs:
            if source.info.video is not None and self._source.kind is MediaKind.VIDEO:
                return source.info.video
        return None

    @property
    def suffix(self) -> str:
        return ".mp4" if self._source.kind is MediaKind.VIDEO else ".m4a"

    async def open(self) -> None:
        """Probe every input; raises `SplitError` when a needed stream is missing, and
        whatever the source's `duration_check` raises."""
        want_video = self._source.kind is MediaKind.VIDEO
        self._inputs = []
        durations: list[float] = []
        bit_rate = 0
        readable = await self._readable_inputs()
        args = [_LOOPBACK_INPUT_ARGS if _is_url(source) else () for source, _ in readable]
        # both inputs of a pair at once: the first part's bytes are meanwhile fetched ahead
        probes = await asyncio.gather(
            *(probe(source, input_args=a) for (source, _), a in zip(readable, args, strict=True)),
            return_exceptions=True,
        )
        for position, ((source, index_url), input_args, info) in enumerate(
            zip(readable, args, probes, strict=True)
        ):
            if isinstance(info, ProbeError):
                raise SplitError(self._reason(info)) from info
            if isinstance(info, BaseException):
                raise info
            video = info.video if want_video else None
            audio = info.audio
            if len(self._source.inputs) == 2:
                # a DASH pair: the first input gives the picture, the second the sound
                audio = None if position == 0 else audio
                video = video if position == 0 else None
            streams = tuple(stream.index for stream in (video, audio) if stream is not None)
            if not streams:
                raise SplitError(f"input {position + 1} has no usable stream")
            maps: list[str] = []
            if video is not None:
                maps += ["-map", f"{position}:{video.index}"]
                self._keyframe_stream = (position, video.index)
            if audio is not None:
                maps += ["-map", f"{position}:{audio.index}"]
            self._inputs.append(
                _Input(str(source), info, streams, tuple(maps), input_args, index_url)
            )
            if info.duration_s:
                durations.append(info.duration_s)
            if info.bit_rate:
                bit_rate += info.bit_rate
            elif info.size_bytes and info.duration_s:
                bit_rate += int(info.size_bytes * 8 / info.duration_s)
        if want_video and self._keyframe_stream is None:
            raise SplitError("the source has no video stream")
        if durations:
            self._duration_s = max(durations)
        if self._duration_s <= 0:
            raise SplitError("the source has no known duration")
        if self._source.duration_check is not None:
            self._source.duration_check(self._duration_s)
        self._bit_rate = max(bit_rate, 1)

    async def _readable_inputs(self) -> list[tuple[str | Path, str | None]]:
        """The inputs as the tools open them, remote ones through the loopback cache, each
        with its index view when it has one."""
        remote = [str(source) for source in self._source.inputs if _is_url(source)]
        if not remote:
            return [(source, None) for source in self._source.inputs]
        if self._remote is None:
            from mediabot.media.remote import RemoteInputs, RemoteReadError

            self._remote = RemoteInputs(
                remote,
                self._work_dir / f".{self._stem}.cache",
                headers=self._source.headers,
                url_check=self._source.url_check,
                budget_bytes=max(_OPEN_CACHE_BYTES, self._first_part_bytes),
            )
            await self._remote.start()
            try:
                await self._remote.find_indexes()
            except RemoteReadError as exc:
                raise SplitError(str(exc)) from exc
            if self._first_part_bytes:
                self._remote.fetch_ahead(int(self._first_part_bytes * _FETCH_AHEAD_SHARE))
        local = iter(zip(self._remote.local_urls, self._remote.index_urls, strict=True))
        return [next(local) if _is_url(item) else (item, None) for item in self._source.inputs]

    def _reason(self, exc: Exception) -> str:
        """Why a tool failed; for remote inputs, the origin's failure when it had one."""
        failure = self._remote.failure if self._remote is not None else None
        return f"{exc} ({failure})" if failure else str(exc)

    def estimate_bytes(self, start_s: float) -> int:
        """Roughly how many bytes of media remain from `start_s` (from the bit rate)."""
        return int(max(0.0, self._duration_s - start_s) * self._bit_rate / 8)

    @property
    def _streams(self) -> int:
        return sum(len(source.stream_indexes) for source in self._inputs) or 2

    def _capacity(self, limit_bytes: int) -> int:
        """Payload bytes a part filled up to the limit holds on average: the budget less
        its overhead, less half a cut unit (a part ends at a keyframe, so it falls short
        of the budget by up to one unit, half on average).
        """
        budget = int(limit_bytes * self._headroom())
        per_byte = self._seen_packets / self._seen_bytes if self._seen_bytes else 0.0
        overhead = part_overhead(int(budget * per_byte), self._streams)
        return max(1, budget - overhead - self._unit_bytes // 2)

    @property
    def _unit_bytes(self) -> int:
        """The average payload between two cut points seen so far."""
        return self._seen_bytes // self._seen_units if self._seen_units else 0

    async def survey(self, start_s: float, limit_bytes: int) -> None:
        """Read the packets of the part starting at `start_s`, to learn how long the
        stretches between cut points are before parts are counted (`estimate_parts`).

        The window is kept for the `cut` at the same start, so it is not read twice (nor
        fetched twice: a remote window stays in the cache until it is cut).
        """
        if not self._inputs:
            await self.open()
        self._set_cache_budget(limit_bytes)
        # a window as long as a part filled to MIN_FILL: what the first cut reads anyway
        budget, least = int(limit_bytes * self._headroom()), int(limit_bytes * MIN_FILL)
        units, at_eof = await self._window(start_s, budget, least)
        self._last_window = (start_s, units, at_eof)

    def _headroom(self) -> float:
        return _REMOTE_HEADROOM if self._remote is not None else HEADROOM

    @property
    def _plans_free(self) -> bool:
        return all(source.plans_free for source in self._inputs)

    def estimate_parts(self, start_s: float, limit_bytes: int) -> int:
        """How many parts remain from `start_s`, each filled close to the limit.

        Counted from the bit rate with the part's sure capacity (`_capacity`); after a
        `survey` that capacity knows the source's keyframe spacing. It holds unless the
        bit rate is very uneven; `part_target` keeps even an overestimate exact.
        """
        return max(1, math.ceil(self.estimate_bytes(start_s) / self._capacity(limit_bytes)))

    def part_target(self, start_s: float, parts_left: int, limit_bytes: int) -> int | None:
        """Payload bytes to aim for in the next part so `parts_left` parts cover the rest.

        The rest shared evenly (so the count announced with the first part holds), but
        never under `MIN_FILL` of the limit, so every part but the last is close to the
        limit; `None` (fill up to the limit) when the share is more than a part holds or
        this is the last part counted. A part filled up to the limit ends at most one cut
        unit short of it, so `MIN_FILL` holds for every part but the last as long as the
        keyframes are less than about 8 % of the limit apart (2 s of a 1.6 Mbit/s video
        is 0.8 % of 50 MB); on a source with rarer keyframes parts can be smaller.
        """
        capacity = self._capacity(limit_bytes)
        if parts_left <= 1:
            return None
        rest = self.estimate_bytes(start_s)
        target = max(rest / parts_left, min(limit_bytes * MIN_FILL, capacity))
        # leave the parts still counted a cut unit and a half each, so none comes out
        # empty when the count was high (a part overshoots its target by up to a unit)
        target = min(target, rest - (parts_left - 1) * 1.5 * self._unit_bytes)
        return None if target >= capacity else max(1, int(target))

    def _set_cache_budget(self, limit_bytes: int) -> None:
        if self._remote is None:
            return
        if self._plans_free:
            share = int(limit_bytes * _INDEXED_CACHE_SHARE)
        else:
            # a window of source (planned a little past one part) stays in the cache, so
            # ffmpeg's cut reads what ffprobe just fetched
            share = int(limit_bytes * _CACHE_SHARE)
        self._remote.budget_bytes = share

    def _learn(self, units: Sequence[CutUnit], at_eof: bool) -> None:
        """Count the cut units, bytes and packets seen, for the size of a unit and the
        overhead of a part."""
        complete = units if at_eof else units[:-1]
        self._seen_units += len(complete)
        self._seen_bytes += sum(unit.size_bytes for unit in complete)
        self._seen_packets += sum(unit.packets for unit in complete)

    async def cut(
        self, start_s: float, index: int, limit_bytes: int, *, target_bytes: int | None = None
    ) -> CutPart:
        """Write the part starting at cut point `start_s`, at most `limit_bytes` on disk.

        With `target_bytes` the part stops at the first cut point past that much payload
        (see `part_target`), otherwise it is filled up to the limit. Raises `SplitError`
        when even one keyframe interval is over the limit, or when ffmpeg fails.
        """
        if not self._inputs:
            await self.open()
        self._set_cache_budget(limit_bytes)
        budget = int(limit_bytes * self._headroom())
        streams = self._streams
        surveyed, self._last_window = self._last_window, None
        if surveyed is None:
            surveyed = await self._window_ahead(start_s)
        if (
            surveyed is not None
            and surveyed[0] == start_s
            and plan_part(
                surveyed[1], budget, at_eof=surveyed[2], target_bytes=target_bytes, streams=streams
            )
            is not None
        ):
            units, at_eof = surveyed[1], surveyed[2]
        else:
            units, at_eof = await self._window(start_s, budget, target_bytes)
        path = self._work_dir / f"{self._stem}-{index:03d}{self.suffix}"
        while True:
            count = plan_part(
                units, budget, at_eof=at_eof, target_bytes=target_bytes, streams=streams
            )
            if count is None:
                raise SplitError("no cut point found")  # _window guarantees a plan
            next_unit = units[count] if count < len(units) else None
            if next_unit is not None and self._plans_free:
                self._read_ahead(next_unit.start_s, budget)
            await self._run_cut(units[0], next_unit, path)
            size = path.stat().st_size
            if size <= limit_bytes:
                end_s = next_unit.start_s if next_unit is not None else self._duration_s
                logger.debug(
                    "cut part %d: %.3f-%.3f s, %d bytes", index, units[0].start_s, end_s, size
                )
                return CutPart(
                    path=path,
                    index=index,
                    start_s=units[0].start_s,
                    end_s=end_s,
                    size_bytes=size,
                    is_last=next_unit is None,
                )
            discard(path)
            await self._drop_ahead()
            if count == 1:
                raise SplitError(
                    f"one keyframe interval at {units[0].start_s:.1f} s is {size} bytes, "
                    f"over the {limit_bytes} byte limit; it cannot be cut without re-encoding"
                )
            logger.info(
                "part %d came out at %d bytes, over %d: cutting it shorter",
                index,
                size,
                limit_bytes,
            )
            budget = min(int(budget * limit_bytes / size * _RECUT_FACTOR), budget - 1)
            target_bytes = None

    def _read_ahead(self, start_s: float, budget: int) -> None:
        """Read the window of the part after this one while this one is cut (and, by the
        caller, sent): planning costs no time between parts. Only when planning reads
        nothing from an origin, so the window takes no room in the cache."""
        self._ahead = (start_s, asyncio.create_task(self._window(start_s, budget, None)))

    async def _window_ahead(self, start_s: float) -> tuple[float, list[CutUnit], bool] | None:
        """The window read ahead for a part starting at `start_s`, if that is the one."""
        if self._ahead is not None and self._ahead[0] == start_s:
            ahead, self._ahead = self._ahead[1], None
            return (start_s, *await ahead)
        await self._drop_ahead()
        return None

    async def _drop_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            ahead[1].cancel()
            await asyncio.gather(ahead[1], return_exceptions=True)

    async def _window(
        self, start_s: float, budget: int, target_bytes: int | None
    ) -> tuple[list[CutUnit], bool]:
        """Cut units from `start_s`, over a window long enough to plan one part."""
        wanted = min(budget, target_bytes) if target_bytes else budget
        if not self._plans_free:
            span = max(2.0, wanted * 8 / self._bit_rate * _REMOTE_SPAN_FACTOR + 1.0)
            growth = _REMOTE_GROWTH
        else:
            span = max(_MIN_WINDOW_S, wanted * 8 / self._bit_rate * 1.3 + 2.0)
            growth = 2.0
        while True:
            at_eof = start_s + span >= self._duration_s
            packets: list[Packet] = []
            for position, source in enumerate(self._inputs):
                try:
                    window = await read_packets(
                        source.planned_from,
                        start_s=start_s,
                        span_s=span + 1.0,
                        stream_indexes=source.stream_indexes,
                        input_args=source.plan_args,
                    )
                except ProbeError as exc:
                    raise SplitError(self._reason(exc)) from exc
                # stream ids repeat across the inputs of a DASH pair: make them distinct
                packets += [
                    replace(packet, stream_index=_stream_id(position, packet.stream_index))
                    for packet in window
                ]
            keyframe_stream = (
                _stream_id(*self._keyframe_stream) if self._keyframe_stream is not None else None
            )
            units = build_units(packets, start_s=start_s, keyframe_stream=keyframe_stream)
            if not units:
                raise SplitError(f"nothing to cut after {start_s:.3f} s")
            planned = plan_part(
                units, budget, at_eof=at_eof, target_bytes=target_bytes, streams=self._streams
            )
            if planned is not None:
                self._learn(units, at_eof)
                return units, at_eof
            span *= growth

    async def _run_cut(self, first: CutUnit, after: CutUnit | None, path: Path) -> None:
        from_start = first.start_s <= _SEEK_PAST_S
        seek = first.start_s + _SEEK_PAST_S
        args = [FFMPEG, "-v", "error", "-nostdin", "-y"]
        for source in self._inputs:
            if not from_start:
                args += ["-ss", f"{seek:.6f}"]
            args += [*source.input_args, "-i", source.source]
        if after is not None:
            # ffmpeg ends a copied stream by decode time: stop just before the next
            # keyframe is decoded, so it opens the next part and is not repeated here
            origin = 0.0 if from_start else seek
            args += ["-t", f"{max(after.start_dts_s - origin - _END_BEFORE_S, 0.001):.6f}"]
        for source in self._inputs:
            args += list(source.map_spec)
        args += ["-c", "copy", "-avoid_negative_ts", "make_zero", "-map_metadata", "-1"]
        if self._source.kind is MediaKind.VIDEO:
            args += ["-movflags", "+faststart"]
        args.append(str(path))
        if self._remote is not None:
            self._remote.consuming = True
        try:
            await run_tool(args)
        except MediaToolError as exc:
            discard(path)
            raise SplitError(f"ffmpeg could not cut the part: {self._reason(exc)}") from exc
        except BaseException:
            discard(path)
            raise
        finally:
            if self._remote is not None:
                self._remote.consuming = False
