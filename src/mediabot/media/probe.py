"""What ffprobe says about a file or a URL: streams, duration, and packet sizes.

Every function accepts a local path or an HTTP(S) URL; ffprobe reads URLs with range
requests, so probing a window of a remote file does not download the whole file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mediabot.media.tools import FFPROBE, MediaToolError, run_tool


class ProbeError(Exception):
    """The input is not media ffprobe can read, or lacks the stream asked for."""


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream of a container, as ffprobe reports it."""

    index: int
    codec_type: str
    codec_name: str
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    attached_pic: bool = False


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """The facts about one input: its streams, duration, size and overall bit rate."""

    source: str
    format_name: str
    duration_s: float | None
    size_bytes: int | None
    bit_rate: int | None
    streams: tuple[StreamInfo, ...]

    @property
    def video(self) -> StreamInfo | None:
        """The first real video stream (cover art does not count)."""
        for stream in self.streams:
            if stream.codec_type == "video" and not stream.attached_pic:
                return stream
        return None

    @property
    def audio(self) -> StreamInfo | None:
        for stream in self.streams:
            if stream.codec_type == "audio":
                return stream
        return None

    @property
    def is_playable(self) -> bool:
        """True when there is a video or audio stream with a positive duration."""
        has_stream = self.video is not None or self.audio is not None
        return has_stream and (self.duration_s or 0) > 0


@dataclass(frozen=True, slots=True)
class Packet:
    """One demuxed packet: its stream, timestamps in seconds, size and keyframe flag."""

    stream_index: int
    pts_s: float
    dts_s: float
    size_bytes: int
    keyframe: bool
    position: int | None = None
    """Byte offset in the input, when asked for (`pos` in `_PACKET_ENTRIES`)."""


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def probe(
    source: str | Path, *, input_args: Sequence[str] = (), proxy: str | None = None
) -> MediaInfo:
    """Read the container and stream facts of `source`; raises `ProbeError` if unreadable.

    `input_args` are ffprobe options for the input (placed before it). A remote `source`
    is read through `proxy` (the guard proxy's URL) when given.
    """
    try:
        raw = await run_tool(probe_command(source, input_args), proxy=proxy)
    except MediaToolError as exc:
        raise ProbeError(f"cannot read media from {without_query(source)}: {exc}") from exc
    return parse_probe_output(raw, source)


def probe_command(source: str | Path, input_args: Sequence[str] = ()) -> list[str]:
    """The ffprobe command `probe` runs; `source` may be `pipe:0` for a caller that feeds
    the bytes itself (and then parses the output with `parse_probe_output`)."""
    return [
        FFPROBE,
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        *input_args,
        str(source),
    ]


def parse_probe_output(raw: bytes, source: str | Path) -> MediaInfo:
    """The facts in the JSON output of `probe_command`; `ProbeError` if it is not JSON."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ProbeError(f"cannot read media from {without_query(source)}: {exc}") from exc
    fmt = data.get("format", {})
    streams = tuple(
        StreamInfo(
            index=int(stream["index"]),
            codec_type=str(stream.get("codec_type", "")),
            codec_name=str(stream.get("codec_name", "")),
            width=_int(stream.get("width")),
            height=_int(stream.get("height")),
            duration_s=_float(stream.get("duration")),
            attached_pic=bool(stream.get("disposition", {}).get("attached_pic")),
        )
        for stream in data.get("streams", [])
    )
    return MediaInfo(
        source=str(source),
        format_name=str(fmt.get("format_name", "")),
        duration_s=_float(fmt.get("duration")),
        size_bytes=_int(fmt.get("size")),
        bit_rate=_int(fmt.get("bit_rate")),
        streams=streams,
    )


_PACKET_ENTRIES = ("-show_entries", "packet=stream_index,pts_time,dts_time,size,flags,pos")
"""ffprobe's options for the packet lines `parse_packets` reads (with `-of compact=p=0`)."""


async def read_packets(
    source: str | Path,
    *,
    start_s: float,
    span_s: float,
    stream_indexes: tuple[int, ...],
    input_args: Sequence[str] = (),
    proxy: str | None = None,
) -> list[Packet]:
    """Packets of the given streams from `start_s` for about `span_s` seconds.

    ffprobe seeks to the keyframe at or before `start_s`, so packets slightly before it
    may appear; callers filter by timestamp. Packets without a timestamp are skipped.
    """
    interval = f"{max(start_s, 0.0):.6f}%+{span_s:.6f}"
    args = packets_command(source, input_args=["-read_intervals", interval, *input_args])
    try:
        raw = await run_tool(args, proxy=proxy)
    except MediaToolError as exc:
        raise ProbeError(f"cannot read packets from {without_query(source)}: {exc}") from exc
    return parse_packets(raw, stream_indexes)


def packets_command(source: str | Path, *, input_args: Sequence[str] = ()) -> list[str]:
    """The ffprobe command that lists packets for `parse_packets`; `source` may be
    `pipe:N` for a caller that feeds the bytes itself."""
    return [
        FFPROBE,
        "-v",
        "error",
        *_PACKET_ENTRIES,
        "-of",
        "compact=p=0",
        *input_args,
        str(source),
    ]


def parse_packets(raw: bytes, stream_indexes: tuple[int, ...]) -> list[Packet]:
    """The packets of the given streams in ffprobe's compact packet output; packets
    without a timestamp or a size are skipped."""
    wanted = set(stream_indexes)
    packets: list[Packet] = []
    for line in raw.decode(errors="replace").splitlines():
        fields = dict(item.split("=", 1) for item in line.split("|") if "=" in item)
        index = _int(fields.get("stream_index"))
        if index is None or index not in wanted:
            continue
        pts = _float(fields.get("pts_time"))
        dts = _float(fields.get("dts_time"))
        size = _int(fields.get("size"))
        pts = pts if pts is not None else dts
        dts = dts if dts is not None else pts
        if size is None or pts is None or dts is None:
            continue
        packets.append(
            Packet(
                stream_index=index,
                pts_s=pts,
                dts_s=dts,
                size_bytes=size,
                keyframe=fields.get("flags", "").startswith("K"),
                position=_int(fields.get("pos")),
            )
        )
    return packets


def without_query(source: str | Path) -> str:
    """A source for logs and errors: URLs lose their query string (it may hold a token)."""
    text = str(source)
    return text.split("?", 1)[0]
