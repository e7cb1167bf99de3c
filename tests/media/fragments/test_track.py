"""A track's bookkeeping on its own: what a resume skips, fetch order, packets per fragment."""

from __future__ import annotations

from pathlib import Path

from mediabot.media.fragments.playlist import Fragment
from mediabot.media.fragments.track import (
    Piece,
    Track,
    assign_packets,
    fetch_order,
    fragments_before,
    window_packets,
)
from mediabot.media.plan import stream_id
from mediabot.media.probe import Packet


def _fragments(*durations: float | None) -> tuple[Fragment, ...]:
    return tuple(Fragment(f"https://cdn.example/{i}.ts", d) for i, d in enumerate(durations))


def _packet(pts: float, *, position: int | None = None, stream: int = 0) -> Packet:
    return Packet(stream, pts, pts, 10, keyframe=True, position=position)


def _piece(track: int, number: int, *times: float, size: int = 100) -> Piece:
    return Piece(track, number, Path(f"/work/{track}-{number}"), size, [_packet(t) for t in times])


def test_a_resume_skips_the_fragments_that_end_a_second_before_it() -> None:
    four = _fragments(4.0, 4.0, 4.0, 4.0)  # ending at 4, 8, 12, 16 s
    assert fragments_before(four, 9.5) == 2
    assert fragments_before(four, 8.5) == 1
    assert fragments_before(four, 0.0) == 0
    # a duration not listed: nothing can be skipped by the durations
    assert fragments_before(_fragments(4.0, None, 4.0), 12.0) == 0


def test_fragments_of_both_tracks_are_fetched_in_order_of_time() -> None:
    video = Track(0, None, _fragments(2.0, 2.0, 2.0), on_disk=[_piece(0, 0, 0.0)])
    audio = Track(1, None, _fragments(3.0, 3.0), on_disk=[_piece(1, 0, 0.0)])
    # each track's first fragment is on disk already (read when the track was opened)
    assert fetch_order([video, audio]) == [(2.0, 0, 1), (3.0, 1, 1), (4.0, 0, 2)]
    video.skip = 2
    assert fetch_order([video, audio]) == [(3.0, 1, 1), (4.0, 0, 2)]
    unlisted = Track(0, None, _fragments(None, None, None), on_disk=[_piece(0, 0, 0.0)])
    assert fetch_order([unlisted]) == [(1.0, 0, 1), (2.0, 0, 2)]


def test_each_packet_goes_to_the_fragment_its_byte_position_falls_in() -> None:
    pieces = [_piece(1, n, size=size) for n, size in enumerate((100, 200, 50))]
    # after a 30-byte init: fragments at bytes 30, 130 and 330
    packets = [
        _packet(0.0, position=10),  # inside the init: the first fragment's
        _packet(0.1, position=30),
        _packet(0.2, position=129),
        _packet(0.3, position=130),
        _packet(0.4, position=400),
        _packet(0.5, position=None),  # no position: the last fragment's
    ]
    assign_packets(pieces, packets, init_bytes=30, position=1)
    assert [[p.pts_s for p in piece.packets] for piece in pieces] == [
        [0.0, 0.1, 0.2],
        [0.3],
        [0.4, 0.5],
    ]
    assert {p.stream_index for piece in pieces for p in piece.packets} == {stream_id(1, 0)}


def test_a_part_is_planned_only_up_to_where_every_track_has_arrived() -> None:
    video = Track(0, None, _fragments(4.0, 4.0), on_disk=[_piece(0, 0, 0.0, 4.0, 10.0)])
    audio = Track(1, None, _fragments(4.0, 4.0), on_disk=[_piece(1, 0, 0.0, 8.0)])
    assert [p.pts_s for p in window_packets([video, audio], at_eof=False)] == [0.0, 4.0, 0.0, 8.0]
    assert len(window_packets([video, audio], at_eof=True)) == 5
    audio.fetched_all = True  # a track with nothing more to come holds no one back
    assert len(window_packets([video, audio], at_eof=False)) == 5
