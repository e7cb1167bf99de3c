"""The file cutter's inputs as ffprobe and ffmpeg open them, probed once, streams chosen.

A path on disk is opened as it is. Remote inputs are served by `RemoteInputs`, a loopback
read-through cache, so the tools never talk to the origin themselves and each byte comes
from it once; a plain MP4 is also served as its index view (sample sizes and keyframes
from its `moov`, its data all zeros), which packets are read from for free. `read_window`
lists the packets of every input over a stretch of time, their stream ids made distinct
across a pair (`plan.stream_id`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mediabot.domain.enums import MediaKind
from mediabot.media.parts import SplitError, check_opened, chosen_streams
from mediabot.media.plan import stream_id, with_stream_ids
from mediabot.media.probe import MediaInfo, Packet, ProbeError, StreamInfo, probe, read_packets
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.remote.server import RemoteInputs
from mediabot.media.sources import SplitSource, is_url

_LOOPBACK_INPUT_ARGS = ("-recv_buffer_size", "65536")
"""A small socket buffer for reading the loopback cache: what ffmpeg has not asked for yet
is not fetched from the origin just to sit in a buffer that it throws away on a seek."""
_INDEX_INPUT_ARGS = ("-fflags", "+nofillin+noparse")
"""Packets of an index view as the container states them: its data is zeros, which a codec
parser would read as no keyframe at all."""
_FETCH_AHEAD_SHARE = 0.8
"""Share of the first part fetched ahead while the inputs are probed."""
_OPEN_CACHE_BYTES = 16 * 1024 * 1024
"""Cache budget while probing, before a part size is known."""
_WINDOW_RUN_OUT_S = 1.0
"""Packets are read a second past a window, for the end of its last unit."""


@dataclass(frozen=True, slots=True)
class FileInput:
    """One input as the tools open it, what ffprobe says of it, and the streams taken."""

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
        return self.index is not None or not is_url(self.source)


class FileInputs:
    """A `SplitSource`'s inputs: `open` probes them, `close` ends the remote reading and
    deletes its cache (kept in `work_dir`)."""

    def __init__(
        self, source: SplitSource, work_dir: Path, *, stem: str, first_part_bytes: int
    ) -> None:
        """`first_part_bytes`: the limit of the first part when it starts at the beginning
        (0 otherwise); a remote source's first bytes are then fetched while it is probed."""
        self._source = source
        self._work_dir = work_dir
        self._stem = stem
        self._first_part_bytes = first_part_bytes
        self._remote: RemoteInputs | None = None
        self.inputs: list[FileInput] = []
        self.keyframe_stream: int | None = None
        """The picture's `stream_id`, once open; None without a picture."""
        self.duration_s = source.duration_s or 0.0
        self.bit_rate = 0

    @property
    def is_remote(self) -> bool:
        """True when some input is read through the loopback cache."""
        return self._remote is not None

    @property
    def plans_free(self) -> bool:
        """Reading packets to plan a part fetches nothing from an origin."""
        return all(source.plans_free for source in self.inputs)

    @property
    def streams(self) -> int:
        """How many streams a part holds."""
        return sum(len(source.stream_indexes) for source in self.inputs) or 2

    @property
    def video(self) -> StreamInfo | None:
        """The picture stream of a video source, once open."""
        if self._source.kind is not MediaKind.VIDEO:
            return None
        return next((item.info.video for item in self.inputs if item.info.video is not None), None)

    @property
    def fetched_bytes(self) -> int:
        """Bytes read from remote origins so far (0 for local inputs)."""
        return self._remote.fetched_bytes if self._remote is not None else 0

    @property
    def cache_budget(self) -> int | None:
        """The loopback cache's budget in bytes (None without remote inputs)."""
        return self._remote.budget_bytes if self._remote is not None else None

    @cache_budget.setter
    def cache_budget(self, value: int) -> None:
        if self._remote is not None:
            self._remote.budget_bytes = value

    async def open(self) -> None:
        """Probe every input; raises `SplitError` when a needed stream is missing, and
        whatever the source's `duration_check` raises."""
        self.inputs = []
        durations: list[float] = []
        bit_rate = 0
        readable = await self._readable()
        args = [_LOOPBACK_INPUT_ARGS if is_url(source) else () for source, _ in readable]
        # both inputs of a pair at once: the first part's bytes are meanwhile fetched ahead
        probes = await asyncio.gather(
            *(probe(source, input_args=a) for (source, _), a in zip(readable, args, strict=True)),
            return_exceptions=True,
        )
        for position, ((source, index_url), input_args, info) in enumerate(
            zip(readable, args, probes, strict=True)
        ):
            if isinstance(info, ProbeError):
                raise SplitError(self.reason(info)) from info
            if isinstance(info, BaseException):
                raise info
            self.inputs.append(self._chosen(position, str(source), info, input_args, index_url))
            if info.duration_s:
                durations.append(info.duration_s)
            if info.bit_rate:
                bit_rate += info.bit_rate
            elif info.size_bytes and info.duration_s:
                bit_rate += int(info.size_bytes * 8 / info.duration_s)
        if durations:
            self.duration_s = max(durations)
        check_opened(self._source.kind, self.keyframe_stream, self.duration_s)
        if self._source.duration_check is not None:
            self._source.duration_check(self.duration_s)
        self.bit_rate = max(bit_rate, 1)

    def _chosen(
        self,
        position: int,
        source: str,
        info: MediaInfo,
        input_args: tuple[str, ...],
        index_url: str | None,
    ) -> FileInput:
        video, audio = chosen_streams(info, self._source.kind, position, len(self._source.inputs))
        streams = tuple(stream.index for stream in (video, audio) if stream is not None)
        if not streams:
            raise SplitError(f"input {position + 1} has no usable stream")
        maps: list[str] = []
        if video is not None:
            maps += ["-map", f"{position}:{video.index}"]
            self.keyframe_stream = stream_id(position, video.index)
        if audio is not None:
            maps += ["-map", f"{position}:{audio.index}"]
        return FileInput(source, info, streams, tuple(maps), input_args, index_url)

    async def _readable(self) -> list[tuple[str | Path, str | None]]:
        """The inputs as the tools open them, remote ones through the loopback cache, each
        with its index view when it has one."""
        remote = [str(source) for source in self._source.inputs if is_url(source)]
        if not remote:
            return [(source, None) for source in self._source.inputs]
        if self._remote is None:
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
        return [next(local) if is_url(item) else (item, None) for item in self._source.inputs]

    async def close(self) -> None:
        """Stop reading remote inputs and delete the cache."""
        if self._remote is not None:
            remote, self._remote = self._remote, None
            await remote.close()

    def reason(self, exc: Exception) -> str:
        """Why a tool failed; for remote inputs, the origin's failure when it had one."""
        failure = self._remote.failure if self._remote is not None else None
        return f"{exc} ({failure})" if failure else str(exc)

    async def read_window(self, start_s: float, span_s: float) -> list[Packet]:
        """The packets of the chosen streams of every input from `start_s` for `span_s`
        seconds and a run-out, read from the index views where there are some."""
        packets: list[Packet] = []
        for position, source in enumerate(self.inputs):
            try:
                window = await read_packets(
                    source.planned_from,
                    start_s=start_s,
                    span_s=span_s + _WINDOW_RUN_OUT_S,
                    stream_indexes=source.stream_indexes,
                    input_args=source.plan_args,
                )
            except ProbeError as exc:
                raise SplitError(self.reason(exc)) from exc
            packets += with_stream_ids(window, position)
        return packets

    @contextlib.contextmanager
    def consuming(self) -> Iterator[None]:
        """A last pass through the data (ffmpeg cutting a planned part): the cache drops
        what it has gone past (see `RemoteInputs.consuming`)."""
        if self._remote is not None:
            self._remote.consuming = True
        try:
            yield
        finally:
            if self._remote is not None:
                self._remote.consuming = False
