"""Files and remote files cut into playable parts under a byte limit, at keyframes.

A part is planned from packet sizes, read with ffprobe over a window that starts at the
part's first keyframe; only that window is read, so a remote source (an HTTP URL read
with range requests) is never downloaded as a whole before the first part exists. Each
cut is `ffmpeg -c copy`; a part that still comes out over the limit is cut again over a
shorter range, so the limit is guaranteed by bytes on disk, not hoped for by bit rate.

Remote inputs are read through the loopback cache (`file_inputs`). A plain MP4 is planned
from its index view: the planning reads nothing from the origin, and ffmpeg's cut reads the
part's bytes once, the cache dropping them as it goes. Other inputs are planned from the
data of a window, which the cache keeps (`_CACHE_SHARE` of a part) until ffmpeg's cut has
read it again. Either way a remote part is filled up to the limit like a local one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from mediabot.domain.enums import MediaKind
from mediabot.media.cutters.file_inputs import FileInput, FileInputs
from mediabot.media.parts import CutPart, SplitError, copy_output_args, part_path, part_suffix
from mediabot.media.plan import (
    MIN_FILL,
    SEEK_PAST_S,
    CutUnit,
    UnitStats,
    build_units,
    part_target,
    parts_needed,
    plan_part,
)
from mediabot.media.probe import StreamInfo
from mediabot.media.sources import SplitSource
from mediabot.media.tools import FFMPEG, MediaToolError, discard, run_tool

logger = logging.getLogger(__name__)

HEADROOM = 0.995
"""Share of the limit a plan may fill, container overhead included (`plan.part_overhead`);
the rest is a margin for a wrong estimate. A part that still comes out over the limit
is cut again, so the margin only has to make that rare, not impossible."""
_REMOTE_HEADROOM = 0.99
"""A remote part over the limit is cut again from the origin (the cut dropped what it read
from the cache): a wider margin makes that rarer."""
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
fetched ahead, later only ffmpeg's read-ahead (the cut drops the blocks it went past). With
a part uploading and one being cut, under 3 parts in all."""

_Window = tuple[list[CutUnit], bool]
"""Cut units from a part's start, and whether they run to the end of the source."""


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
        self._work_dir = work_dir
        self._stem = stem
        self._inputs = FileInputs(source, work_dir, stem=stem, first_part_bytes=first_part_bytes)
        self._stats = UnitStats()
        self._last_window: tuple[float, list[CutUnit], bool] | None = None
        self._ahead: tuple[float, asyncio.Task[_Window]] | None = None
        """The window of the next part, read while the part before it is cut and sent."""

    async def __aenter__(self) -> Splitter:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reading remote inputs and delete the cache (parts are the caller's)."""
        await self._drop_ahead()
        await self._inputs.close()

    @property
    def fetched_bytes(self) -> int:
        """Bytes read from remote origins so far (0 for local inputs)."""
        return self._inputs.fetched_bytes

    @property
    def duration_s(self) -> float:
        return self._inputs.duration_s

    @property
    def video(self) -> StreamInfo | None:
        """The picture stream of the source, once `open()` has run."""
        return self._inputs.video

    @property
    def suffix(self) -> str:
        return part_suffix(self._source.kind)

    async def open(self) -> None:
        """Probe every input; raises `SplitError` when a needed stream is missing, and
        whatever the source's `duration_check` raises."""
        await self._inputs.open()

    def estimate_bytes(self, start_s: float) -> int:
        """Roughly how many bytes of media remain from `start_s` (from the bit rate)."""
        return int(max(0.0, self._inputs.duration_s - start_s) * self._inputs.bit_rate / 8)

    async def survey(self, start_s: float, limit_bytes: int) -> None:
        """Read the packets of the part starting at `start_s`, to learn how long the
        stretches between cut points are before parts are counted (`estimate_parts`).

        The window is kept for the `cut` at the same start, so it is not read twice (nor
        fetched twice: a remote window stays in the cache until it is cut).
        """
        if not self._inputs.inputs:
            await self.open()
        self._set_cache_budget(limit_bytes)
        # a window as long as a part filled to MIN_FILL: what the first cut reads anyway
        budget, least = int(limit_bytes * self._headroom()), int(limit_bytes * MIN_FILL)
        units, at_eof = await self._window(start_s, budget, least)
        self._last_window = (start_s, units, at_eof)

    def estimate_parts(self, start_s: float, limit_bytes: int) -> int:
        """How many parts remain from `start_s`, each filled close to the limit.

        Counted from the bit rate with the part's sure capacity (`UnitStats.capacity`);
        after a `survey` that capacity knows the source's keyframe spacing. It holds unless
        the bit rate is very uneven; `part_target` keeps even an overestimate exact.
        """
        return parts_needed(self.estimate_bytes(start_s), self._capacity(limit_bytes))

    def part_target(self, start_s: float, parts_left: int, limit_bytes: int) -> int | None:
        """Payload bytes to aim for in the next part so `parts_left` parts cover the rest
        (see `plan.part_target`); None: fill it up to the limit."""
        return part_target(
            self.estimate_bytes(start_s),
            parts_left,
            limit_bytes,
            capacity=self._capacity(limit_bytes),
            unit_bytes=self._stats.unit_bytes,
        )

    def _capacity(self, limit_bytes: int) -> int:
        budget = int(limit_bytes * self._headroom())
        return self._stats.capacity(budget, self._inputs.streams)

    def _headroom(self) -> float:
        return _REMOTE_HEADROOM if self._inputs.is_remote else HEADROOM

    def _set_cache_budget(self, limit_bytes: int) -> None:
        if self._inputs.plans_free:
            self._inputs.cache_budget = int(limit_bytes * _INDEXED_CACHE_SHARE)
        else:
            # a window of source (planned a little past one part) stays in the cache, so
            # ffmpeg's cut reads what ffprobe just fetched
            self._inputs.cache_budget = int(limit_bytes * _CACHE_SHARE)

    async def cut(
        self, start_s: float, index: int, limit_bytes: int, *, target_bytes: int | None = None
    ) -> CutPart:
        """Write the part starting at cut point `start_s`, at most `limit_bytes` on disk.

        With `target_bytes` the part stops at the first cut point past that much payload
        (see `part_target`), otherwise it is filled up to the limit. Raises `SplitError`
        when even one keyframe interval is over the limit, or when ffmpeg fails.
        """
        if not self._inputs.inputs:
            await self.open()
        self._set_cache_budget(limit_bytes)
        budget = int(limit_bytes * self._headroom())
        streams = self._inputs.streams
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
        path = part_path(self._work_dir, self._stem, index, self._source.kind)
        while True:
            count = plan_part(
                units, budget, at_eof=at_eof, target_bytes=target_bytes, streams=streams
            )
            if count is None:
                raise SplitError("no cut point found")  # _window guarantees a plan
            next_unit = units[count] if count < len(units) else None
            if next_unit is not None and self._inputs.plans_free:
                self._read_ahead(next_unit.start_s, budget)
            await self._write(units[0], next_unit, path)
            size = path.stat().st_size
            if size <= limit_bytes:
                end_s = next_unit.start_s if next_unit is not None else self.duration_s
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

    async def _window(self, start_s: float, budget: int, target_bytes: int | None) -> _Window:
        """Cut units from `start_s`, over a window long enough to plan one part."""
        wanted = min(budget, target_bytes) if target_bytes else budget
        bit_rate = self._inputs.bit_rate
        if not self._inputs.plans_free:
            span = max(2.0, wanted * 8 / bit_rate * _REMOTE_SPAN_FACTOR + 1.0)
            growth = _REMOTE_GROWTH
        else:
            span = max(_MIN_WINDOW_S, wanted * 8 / bit_rate * 1.3 + 2.0)
            growth = 2.0
        while True:
            at_eof = start_s + span >= self.duration_s
            packets = await self._inputs.read_window(start_s, span)
            units = build_units(
                packets, start_s=start_s, keyframe_stream=self._inputs.keyframe_stream
            )
            if not units:
                raise SplitError(f"nothing to cut after {start_s:.3f} s")
            planned = plan_part(
                units,
                budget,
                at_eof=at_eof,
                target_bytes=target_bytes,
                streams=self._inputs.streams,
            )
            if planned is not None:
                self._stats.learn(units, at_eof)
                return units, at_eof
            span *= growth

    async def _write(self, first: CutUnit, after: CutUnit | None, path: Path) -> None:
        args = cut_command(self._inputs.inputs, first, after, path, self._source.kind)
        with self._inputs.consuming():
            try:
                await run_tool(args)
            except MediaToolError as exc:
                discard(path)
                raise SplitError(
                    f"ffmpeg could not cut the part: {self._inputs.reason(exc)}"
                ) from exc
            except BaseException:
                discard(path)
                raise


def cut_command(
    inputs: Sequence[FileInput],
    first: CutUnit,
    after: CutUnit | None,
    path: Path,
    kind: MediaKind,
) -> list[str]:
    """The `ffmpeg -c copy` of the part from cut unit `first` up to `after` (None: to the
    end) of `inputs` into `path`."""
    from_start = first.start_s <= SEEK_PAST_S
    seek = first.start_s + SEEK_PAST_S
    args = [FFMPEG, "-v", "error", "-nostdin", "-y"]
    for source in inputs:
        if not from_start:
            args += ["-ss", f"{seek:.6f}"]
        args += [*source.input_args, "-i", source.source]
    if after is not None:
        # ffmpeg ends a copied stream by decode time: stop just before the next
        # keyframe is decoded, so it opens the next part and is not repeated here
        origin = 0.0 if from_start else seek
        args += ["-t", f"{max(after.start_dts_s - origin - _END_BEFORE_S, 0.001):.6f}"]
    for source in inputs:
        args += list(source.map_spec)
    return [*args, "-c", "copy", *copy_output_args(kind, path)]
