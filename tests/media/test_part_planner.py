"""Parts planned from a segmented source's index while its fragments are still read.

The planner sees the tracks grow fragment by fragment (as `read_indexes(growing=True)`
hands them over) and plans each part as soon as it can: every part it plans, and where, is
what it plans with every fragment read, and its count matches them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mediabot.media.faststart.cuts import PartPlanner, PlannedPart
from mediabot.media.faststart.index import Span, init_tracks, read_fragments
from mediabot.media.faststart.samples import TrackIndex
from tests.media.test_faststart import Files
from tests.support.media import MediaSources

pytestmark = pytest.mark.integration

LIMIT = 1024 * 1024


def _files(folder: Path) -> tuple[Files, list[list[Path]]]:
    """The segmented DASH files: both inits, then each stream's fragments."""
    inits = [folder / f"init-stream{stream}.m4s" for stream in (0, 1)]
    chunks = [sorted(folder.glob(f"chunk-stream{stream}-*.m4s")) for stream in (0, 1)]
    return Files(*inits, *chunks[0], *chunks[1]), chunks


async def _lanes(folder: Path) -> tuple[Files, list[tuple[list[TrackIndex], list[Span]]]]:
    """The segmented DASH tracks (picture, then sound) without samples, each with the
    spans of its fragments, all files on disk."""
    files, chunks = _files(folder)
    lanes = []
    first = 2  # the inits
    for stream in (0, 1):
        tracks = await init_tracks(files, Span(stream))
        for track in tracks:
            track.growing, track.complete = True, False
        spans = [Span(first + n) for n in range(len(chunks[stream]))]
        first += len(chunks[stream])
        lanes.append((tracks, spans))
    return files, lanes


def _plan_all(planner: PartPlanner, parts: list[PlannedPart], cut: int) -> int:
    """Plan every part the samples read so far decide; the cut point the next starts at."""
    while not (parts and parts[-1].is_last):
        planned = planner.part(cut, len(parts), LIMIT)
        if planned is None:
            break
        parts.append(planned)
        cut = planned.after
    return cut


def _shape(parts: list[PlannedPart]) -> list[tuple[float, float, int, int, bool]]:
    return [(p.start_s, p.end_s, p.after, p.layout.size, p.is_last) for p in parts]


async def test_parts_planned_as_fragments_arrive_are_the_parts_planned_at_the_end(
    media: MediaSources,
) -> None:
    folder = media.path(media.segmented["dash"]).parent
    files, lanes = await _lanes(folder)
    for tracks, spans in lanes:
        await read_fragments(files, spans[:1], tracks)
    (video,), (audio,) = (tracks for tracks, _ in lanes)
    planner = PartPlanner([video, audio])
    early: list[PlannedPart] = []
    cut = _plan_all(planner, early, 0)
    planned_before_the_end = 0
    rest = [(tracks, spans[1:]) for tracks, spans in lanes]
    while any(spans for _, spans in rest):
        # the picture runs two fragments ahead of the sound, then the sound catches up
        for tracks, spans in rest:
            take = 2 if tracks[0] is video else 1
            if spans:
                await read_fragments(files, spans[:take], tracks)
                del spans[:take]
            tracks[0].complete = not spans
        planner.grow()
        cut = _plan_all(planner, early, cut)
        if not (video.complete and audio.complete):
            planned_before_the_end = len(early)
    planner.grow()
    _plan_all(planner, early, cut)

    whole: list[PlannedPart] = []
    _plan_all(PartPlanner([video, audio]), whole, 0)
    assert planned_before_the_end >= 2
    assert _shape(early) == _shape(whole)
    assert planner.count(0, LIMIT) == len(whole) >= 4
    assert whole[-1].end_s == pytest.approx(planner.duration_s)


async def test_a_growing_planner_waits_for_a_part_it_cannot_decide(media: MediaSources) -> None:
    folder = media.path(media.segmented["dash"]).parent
    files, lanes = await _lanes(folder)
    for tracks, spans in lanes:
        await read_fragments(files, spans[:1], tracks)
    planner = PartPlanner([lanes[0][0][0], lanes[1][0][0]])

    # one fragment of each is under the limit: the part may reach further
    assert planner.part(0, 0, LIMIT) is None
    assert planner.cut_at(30.0) is None
    with pytest.raises(RuntimeError):
        planner.count(0, LIMIT)
