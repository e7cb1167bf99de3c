"""Planning parts from packets, with no I/O: where a part may be cut and how much it holds.

A part starts at a cut point (a keyframe of the picture; every half second of media
without one) and ends just before another: the stretch between two cut points is a
`CutUnit`, which a part never splits. `plan_part` takes leading units while the part, with
its container's overhead (`part_overhead`), stays under a byte budget. `UnitStats`,
`parts_needed` and `part_target` count and size the parts of what remains, so that every
part but the last is close to the limit (`MIN_FILL`).

Both cutters plan with these: the file cutter from the packets ffprobe reads over a window,
the fragment cutter from the packets of the fragments on disk. Stream ids given to the
planner are made distinct across the inputs of a pair with `stream_id`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from mediabot.media.probe import Packet

MIN_FILL = 0.9
"""Every part but the last aims at least at this share of the limit (see `part_target`)."""
SEEK_PAST_S = 0.001
"""A cut point is sought just past its time (ffmpeg seeks to the keyframe at or before the
target), so a unit that starts this much before a part's start is still its first."""
_PART_OVERHEAD_BYTES = 4 * 1024
_STREAM_OVERHEAD_BYTES = 1024
_PACKET_OVERHEAD_BYTES = 16
"""An MP4's sample tables grow with its samples: stsz 4 bytes, ctts up to 8, and a share
of stts, stss, stsc and stco; measured about 9 bytes a packet without B-frames."""
_AUDIO_UNIT_S = 0.5
_STREAM_IDS_PER_INPUT = 1000


@dataclass(frozen=True, slots=True)
class CutUnit:
    """The stretch from one cut point to the next: nothing inside it can be cut apart."""

    start_s: float
    start_dts_s: float
    size_bytes: int
    packets: int


def stream_id(position: int, index: int) -> int:
    """Stream `index` of input `position` as one id across inputs: each input numbers its
    streams from 0, so the two inputs of a pair would otherwise share ids."""
    return position * _STREAM_IDS_PER_INPUT + index


def with_stream_ids(packets: Iterable[Packet], position: int) -> list[Packet]:
    """`packets` of input `position`, their stream indexes made `stream_id`s."""
    return [
        replace(packet, stream_index=stream_id(position, packet.stream_index)) for packet in packets
    ]


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
    floor = start_s - SEEK_PAST_S
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


@dataclass(slots=True)
class UnitStats:
    """The complete cut units seen so far, their payload bytes and packets: how far apart
    the source's cut points are and how many packets a byte of it holds."""

    units: int = 0
    bytes: int = 0
    packets: int = 0

    def learn(self, units: Sequence[CutUnit], at_eof: bool) -> None:
        """Count `units` (the last one only `at_eof`: before, its end is not known)."""
        complete = units if at_eof else units[:-1]
        self.units += len(complete)
        self.bytes += sum(unit.size_bytes for unit in complete)
        self.packets += sum(unit.packets for unit in complete)

    @property
    def unit_bytes(self) -> int:
        """The average payload between two cut points (0 before any is seen)."""
        return self.bytes // self.units if self.units else 0

    def capacity(self, budget_bytes: int, streams: int) -> int:
        """Payload bytes a part filled up to `budget_bytes` holds on average: the budget
        less its overhead, less half a cut unit (a part ends at a cut point, so it falls
        short of the budget by up to one unit, half on average)."""
        per_byte = self.packets / self.bytes if self.bytes else 0.0
        overhead = part_overhead(int(budget_bytes * per_byte), streams)
        return max(1, budget_bytes - overhead - self.unit_bytes // 2)


def parts_needed(rest_bytes: float, capacity: float) -> int:
    """How many parts of `capacity` payload bytes hold `rest_bytes` (at least one)."""
    return max(1, math.ceil(rest_bytes / capacity))


def part_target(
    rest_bytes: int, parts_left: int, limit_bytes: int, *, capacity: int, unit_bytes: int
) -> int | None:
    """Payload bytes to aim for in the next part so `parts_left` parts cover `rest_bytes`.

    The rest shared evenly (so a count announced with the first part holds), but never
    under `MIN_FILL` of the limit, so every part but the last is close to the limit;
    `None` (fill up to the limit) when the share is more than a part holds (`capacity`) or
    this is the last part counted. A part filled up to the limit ends at most one cut unit
    short of it, so `MIN_FILL` holds for every part but the last as long as cut points are
    less than about 8 % of the limit apart (2 s of a 1.6 Mbit/s video is 0.8 % of 50 MB);
    on a source with rarer keyframes parts can be smaller.
    """
    if parts_left <= 1:
        return None
    target = max(rest_bytes / parts_left, min(limit_bytes * MIN_FILL, capacity))
    # leave the parts still counted a cut unit and a half each, so none comes out empty
    # when the count was high (a part overshoots its target by up to a unit)
    target = min(target, rest_bytes - (parts_left - 1) * 1.5 * unit_bytes)
    return None if target >= capacity else max(1, int(target))
