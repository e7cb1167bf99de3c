"""The part planner on its own: cut units, parts under a budget, how many parts and how full."""

from __future__ import annotations

import pytest

from mediabot.media.plan import (
    MIN_FILL,
    CutUnit,
    UnitStats,
    build_units,
    part_overhead,
    part_target,
    parts_needed,
    plan_part,
    stream_id,
    with_stream_ids,
)
from mediabot.media.probe import Packet

VIDEO, AUDIO = 0, 1


def _unit(start: float, size: int) -> CutUnit:
    return CutUnit(start_s=start, start_dts_s=start, size_bytes=size, packets=10)


def _packet(stream: int, pts: float, size: int, *, key: bool = False) -> Packet:
    return Packet(stream_index=stream, pts_s=pts, dts_s=pts - 0.1, size_bytes=size, keyframe=key)


def _two_second_gop() -> list[Packet]:
    """Keyframes at 0, 2 and 4 s, a frame between them, and a sound packet after each."""
    packets = []
    for second in (0.0, 2.0, 4.0):
        packets += [
            _packet(VIDEO, second, 1000, key=True),
            _packet(VIDEO, second + 1.0, 100),
            _packet(AUDIO, second + 0.25, 10),
        ]
    return packets


def test_plan_fills_the_budget_but_never_the_incomplete_last_unit() -> None:
    units = [_unit(float(i), 100_000) for i in range(10)]
    assert plan_part(units, 350_000, at_eof=False) == 3
    assert plan_part(units[:3], 10_000_000, at_eof=False) is None
    assert plan_part(units[:3], 10_000_000, at_eof=True) == 3
    assert plan_part(units, 10_000_000, at_eof=False, target_bytes=250_000) == 3
    assert plan_part(units, 50_000, at_eof=True) == 1


def test_the_container_overhead_counts_against_the_budget() -> None:
    units = [_unit(float(i), 100) for i in range(5)]
    exactly_two = 200 + part_overhead(20, streams=2)
    assert plan_part(units, exactly_two, at_eof=True) == 2
    assert plan_part(units, exactly_two - 1, at_eof=True) == 1
    # more streams, more headers: the same budget holds fewer units
    assert plan_part(units, exactly_two, at_eof=True, streams=3) == 1
    assert part_overhead(1000, streams=2) > part_overhead(10, streams=2)


def test_units_start_at_keyframes_and_hold_every_stream_until_the_next() -> None:
    units = build_units(_two_second_gop(), start_s=2.0, keyframe_stream=VIDEO)
    # the packets before the start are left out; each unit starts at its keyframe's times
    assert units == [
        CutUnit(start_s=2.0, start_dts_s=1.9, size_bytes=1110, packets=3),
        CutUnit(start_s=4.0, start_dts_s=3.9, size_bytes=1110, packets=3),
    ]


def test_a_start_sought_a_hair_past_its_keyframe_still_begins_there() -> None:
    units = build_units(_two_second_gop(), start_s=2.0005, keyframe_stream=VIDEO)
    assert [unit.start_s for unit in units] == [2.0, 4.0]
    assert build_units(_two_second_gop(), start_s=4.5, keyframe_stream=VIDEO) == []


def test_sound_alone_is_cut_every_half_second() -> None:
    times = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4]
    packets = [_packet(AUDIO, pts, 10) for pts in times]
    units = build_units(packets, start_s=0.0, keyframe_stream=None)
    assert [(unit.start_s, unit.size_bytes, unit.packets) for unit in units] == [
        (0.0, 30, 3),
        (0.6, 30, 3),
        (1.2, 20, 2),
    ]


def test_the_streams_of_a_pair_get_distinct_ids() -> None:
    assert stream_id(0, 0) != stream_id(1, 0)
    assert stream_id(0, 1) != stream_id(1, 0)
    video = [_packet(0, 0.0, 10, key=True)]
    sound = [_packet(0, 0.5, 10, key=True)]  # every sound packet is a keyframe
    pair = with_stream_ids(video, 0) + with_stream_ids(sound, 1)
    units = build_units(pair, start_s=0.0, keyframe_stream=stream_id(0, 0))
    # the sound, stream 0 of its own input, is not taken for the picture: one unit
    assert units == [CutUnit(start_s=0.0, start_dts_s=-0.1, size_bytes=20, packets=2)]


def test_stats_count_only_units_whose_end_is_known() -> None:
    stats = UnitStats()
    stats.learn([_unit(0.0, 100), _unit(1.0, 300), _unit(2.0, 500)], at_eof=False)
    assert (stats.units, stats.bytes, stats.packets, stats.unit_bytes) == (2, 400, 20, 200)
    stats.learn([_unit(2.0, 500)], at_eof=True)
    assert (stats.units, stats.bytes, stats.unit_bytes) == (3, 900, 300)
    assert UnitStats().unit_bytes == 0


def test_a_part_holds_its_budget_less_overhead_and_half_a_unit() -> None:
    stats = UnitStats(units=10, bytes=1_000_000, packets=1_000)
    # a byte holds a thousandth of a packet: a full part of 1 MB holds about 1000 packets
    expected = 1_000_000 - part_overhead(1_000, streams=2) - 100_000 // 2
    assert stats.capacity(1_000_000, streams=2) == expected
    assert UnitStats().capacity(10, streams=2) == 1


def test_parts_needed_rounds_up_and_is_never_zero() -> None:
    assert parts_needed(10, 3) == 4
    assert parts_needed(9, 3) == 3
    assert parts_needed(0, 3) == 1


LIMIT = 3_000_000
CAPACITY = 2_900_000


@pytest.mark.parametrize(
    ("rest", "parts_left", "unit_bytes", "expected"),
    [
        (11_000_000, 4, 100_000, 2_750_000),  # the rest shared evenly
        (10_000_000, 4, 100_000, int(LIMIT * MIN_FILL)),  # but never under MIN_FILL
        (12_000_000, 4, 100_000, None),  # a share over what a part holds: fill it up
        (12_000_000, 1, 100_000, None),  # the last part counted: fill it up
        (5_000_000, 3, 1_000_000, 2_000_000),  # a unit and a half left for each part after
    ],
)
def test_a_part_aims_at_an_even_share_of_the_rest_close_to_the_limit(
    rest: int, parts_left: int, unit_bytes: int, expected: int | None
) -> None:
    target = part_target(rest, parts_left, LIMIT, capacity=CAPACITY, unit_bytes=unit_bytes)
    assert target == expected
