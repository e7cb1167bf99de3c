"""Which pieces of a source a clip needs, and which of their bytes: pure arithmetic.

A piece is a fragment (HLS, segmented DASH) or a `sidx` subsegment, placed in time by the
durations its list states; a packet is placed by its byte position in a file.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from mediabot.media.probe import Packet

_KEEP_AFTER_S = 0.5
"""Packets up to this long after a clip's end are fetched too: ffmpeg ends a copied stream
by comparing timestamps of packets it has read, so it reads a little past the end."""
_TOLERANCE_S = 0.001


def starts_of(durations: Sequence[float | None]) -> list[float] | None:
    """Where each piece starts, from the durations listed (None when one is not)."""
    if any(duration is None for duration in durations):
        return None
    return list(itertools.accumulate((d or 0.0 for d in durations[:-1]), initial=0.0))


def covering(starts: Sequence[float], start_s: float, end_s: float | None) -> range:
    """The consecutive pieces (each starting at `starts[i]` and running to the next's
    start) from the one that holds `start_s` to the one that holds the moment just
    before `end_s` (None: to the last piece)."""
    first = max(0, sum(1 for start in starts if start <= start_s + _TOLERANCE_S) - 1)
    if end_s is None:
        return range(first, len(starts))
    last = max(first, sum(1 for start in starts if start < end_s - _TOLERANCE_S) - 1)
    return range(first, last + 1)


def keyframe_at_or_before(packets: Sequence[Packet], stream: int, at_s: float) -> Packet | None:
    """The last keyframe of `stream` at or before `at_s` (by presentation time); the first
    keyframe when none is before it; None without a keyframe."""
    keyframes = sorted(
        (p for p in packets if p.stream_index == stream and p.keyframe), key=lambda p: p.pts_s
    )
    before = [p for p in keyframes if p.pts_s <= at_s + _TOLERANCE_S]
    if before:
        return before[-1]
    return keyframes[0] if keyframes else None


def near_before(keyframe: Packet, at_s: float, most_s: float) -> bool:
    """Whether `keyframe` is shown at or before `at_s`, at most `most_s` before it."""
    return at_s - most_s - _TOLERANCE_S <= keyframe.pts_s <= at_s + _TOLERANCE_S


def byte_span(packets: Sequence[Packet], start_s: float, end_s: float | None) -> tuple[int, int]:
    """(first byte, end) of the file holding every packet shown from `start_s` to `end_s`
    (None: to the last packet), a little past the end (`_KEEP_AFTER_S`). Raises
    ValueError when no packet with a position is in that time."""
    inside = [
        p
        for p in packets
        if p.position is not None
        and min(p.pts_s, p.dts_s) >= start_s - _TOLERANCE_S
        and (end_s is None or p.dts_s <= end_s + _KEEP_AFTER_S)
    ]
    if not inside:
        raise ValueError(f"no packet between {start_s:.3f} s and {end_s} s")
    first = min(p.position or 0 for p in inside)
    end = max((p.position or 0) + p.size_bytes for p in inside)
    return first, end
