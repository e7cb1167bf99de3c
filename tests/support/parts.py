"""Checks on delivered parts: a keyframe first, every frame decodes, index before data."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediabot.media.probe import probe
from mediabot.media.tools import FFMPEG, run_tool


def _ffprobe(*args: str) -> dict[str, object]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-of", "json", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def keyframe_times(path: Path) -> list[float]:
    data = _ffprobe("-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", str(path))
    packets = data["packets"]
    assert isinstance(packets, list)
    return sorted(float(p["pts_time"]) for p in packets if "K" in p["flags"])


def first_video_packet_is_keyframe(path: Path) -> bool:
    data = _ffprobe(
        "-select_streams", "v:0", "-read_intervals", "%+#1", "-show_entries", "packet=flags",
        str(path),
    )  # fmt: skip
    packets = data["packets"]
    assert isinstance(packets, list) and packets
    return "K" in packets[0]["flags"]


def decodes(path: Path) -> bool:
    """ffprobe decodes every frame of every stream without an error."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_type,nb_read_frames", "-of", "json", str(path)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    if result.returncode != 0 or result.stderr.strip():
        return False
    streams = json.loads(result.stdout)["streams"]
    kinds = {stream["codec_type"] for stream in streams if int(stream["nb_read_frames"]) > 0}
    return kinds == {"video", "audio"}


def duration(path: Path) -> float:
    data = _ffprobe("-select_streams", "v:0", "-show_entries", "stream=duration", str(path))
    streams = data["streams"]
    assert isinstance(streams, list)
    return float(streams[0]["duration"])


def top_level_boxes(path: Path) -> list[str]:
    boxes: list[str] = []
    with path.open("rb") as file:
        while header := file.read(8):
            size, kind = int.from_bytes(header[:4], "big"), header[4:8].decode("latin-1")
            boxes.append(kind)
            if size == 1:
                size = int.from_bytes(file.read(8), "big")
                file.seek(size - 16, 1)
            elif size == 0:
                break
            else:
                file.seek(size - 8, 1)
    return boxes


@dataclass(frozen=True)
class _PartFacts:
    keyframe_first: bool
    decodes: bool
    video_duration: float


def _part_facts(path: Path) -> _PartFacts:
    """What `first_video_packet_is_keyframe`, `decodes` and `duration` say, from one ffprobe
    run: every frame decoded, every packet's flags listed."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=index,codec_type,nb_read_frames,duration:packet=stream_index,flags",
         "-of", "json", str(path)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    streams, packets = data["streams"], data["packets"]
    video = next(stream for stream in streams if stream["codec_type"] == "video")
    first = next(packet for packet in packets if packet["stream_index"] == video["index"])
    kinds = {stream["codec_type"] for stream in streams if int(stream["nb_read_frames"]) > 0}
    return _PartFacts(
        keyframe_first="K" in first["flags"],
        decodes=not result.stderr.strip() and kinds == {"video", "audio"},
        video_duration=float(video["duration"]),
    )


def check_parts(
    paths: Sequence[Path], limit: int, *, min_fill: float, total_s: float, tolerance_s: float
) -> None:
    """Each part under `limit`, all but the last at least `min_fill` of it, each starting
    on a keyframe, decoding, with its index (moov) before its data (mdat); their durations
    add up to `total_s`."""
    sizes = [path.stat().st_size for path in paths]
    fills = [round(size / limit, 3) for size in sizes]
    assert all(size <= limit for size in sizes), fills
    assert all(size >= min_fill * limit for size in sizes[:-1]), fills
    total = 0.0
    for path in paths:
        facts = _part_facts(path)
        assert facts.keyframe_first, path.name
        assert facts.decodes, path.name
        boxes = top_level_boxes(path)
        assert "moov" in boxes and "mdat" in boxes
        assert boxes.index("moov") < boxes.index("mdat"), boxes
        total += facts.video_duration
    assert total == pytest.approx(total_s, abs=tolerance_s)


def top_boxes(path: Path) -> list[bytes]:
    """The types of an MP4's top-level boxes, in order."""
    kinds: list[bytes] = []
    with path.open("rb") as handle:
        while header := handle.read(16):
            size = int.from_bytes(header[:4], "big")
            if size == 1:
                size = int.from_bytes(header[8:16], "big")
            kinds.append(header[4:8])
            handle.seek(handle.tell() - len(header) + size)
    return kinds


async def check_one_file(path: Path, duration_s: float) -> None:
    """`path` decodes whole without an error, has its index first and lasts `duration_s`."""
    await run_tool([FFMPEG, "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"])
    kinds = top_boxes(path)
    assert kinds.index(b"moov") < kinds.index(b"mdat")
    info = await probe(path)
    assert info.is_playable
    assert info.duration_s == pytest.approx(duration_s, abs=0.05)
