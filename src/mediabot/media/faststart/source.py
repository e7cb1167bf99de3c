"""A remote source's indexes read ahead: its tracks' samples, or None.

`read_indexes` takes what the cutters take (`SplitSource` of URLs, `SegmentedSource`) and
returns the `Indexed` source: the tracks a delivery keeps, every sample known (or, read
`growing`, a segmented source's first fragments, the rest read in the background), and the
ranges to fetch them from. `Indexed.whole()` lays them out as one file (an `Assembly` to
spool); `faststart.cuts` plans parts from the same tracks. None means no index can be known
ahead (MPEG-TS, encrypted fragments, a container or codec this does not rewrite, a
malformed box): the caller keeps the way that cuts or downloads.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from mediabot.domain.enums import MediaKind
from mediabot.media.faststart.boxes import BoxError
from mediabot.media.faststart.index import Span, file_tracks, init_tracks, read_fragments
from mediabot.media.faststart.layout import Layout, duration_s, lay_out
from mediabot.media.faststart.remote import HttpRanges
from mediabot.media.faststart.samples import SOUND, VIDEO, TrackIndex
from mediabot.media.fragments.playlist import Fragment, FragmentTrack, parse_media_playlist
from mediabot.media.parts import SplitError
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.sources import SegmentedSource, SplitSource, is_url

logger = logging.getLogger(__name__)

_PLAYLIST_MAX_BYTES = 8 * 1024 * 1024
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Assembly:
    """What spooling the file needs: its layout, the ranges, and which resources are read
    one after another (`lane_of`)."""

    layout: Layout
    ranges: HttpRanges
    lane_of: Callable[[int], int]


@dataclass(frozen=True, slots=True)
class Indexed:
    """A source's samples: `tracks` (the picture first, then the sound), `ranges` to fetch
    them, `lane_of` as in `Assembly`. A segmented source read `growing` is handed over
    before its last fragments are read: its tracks fill in the background (see
    `TrackIndex.complete`), `grown` and `completed` wait for them."""

    tracks: tuple[TrackIndex, ...]
    ranges: HttpRanges
    lane_of: Callable[[int], int]
    growth: _Growth | None = None

    @property
    def complete(self) -> bool:
        return all(track.complete for track in self.tracks)

    @property
    def duration_s(self) -> float:
        """The media's duration; every sample must be in."""
        if not self.complete:
            raise RuntimeError("the duration asked before every sample is in")
        return duration_s(self.tracks)

    async def grown(self, samples: int) -> None:
        """Wait until the tracks hold more than `samples` samples in all, or all they will.
        Raises what stopped the reading: `RemoteReadError` (the origin), `BoxError`,
        `struct.error` or `IndexError` (a fragment that cannot be read)."""
        if self.growth is not None:
            await self.growth.wait(lambda: sum(track.count for track in self.tracks) > samples)

    async def completed(self) -> None:
        """Wait until every sample is in; raises as `grown` does."""
        if self.growth is not None:
            await self.growth.wait(lambda: False)

    def whole(self) -> Assembly | None:
        """The one file holding every sample; None when its boxes cannot be rewritten.
        Every sample must be in."""
        if not self.complete:
            raise RuntimeError("the one file laid out before every sample is in")
        try:
            layout = lay_out(self.tracks)
        except (BoxError, struct.error, IndexError) as exc:
            logger.info("No one file laid out: %s", exc)
            return None
        return Assembly(layout, self.ranges, self.lane_of)


class _Growth:
    """The fragments still being read (`task`), and a wait for what they add."""

    def __init__(self) -> None:
        self._moved = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def moved(self) -> None:
        """Wake every waiter: samples were added, or the reading ended."""
        self._moved.set()
        self._moved = asyncio.Event()

    async def wait(self, enough: Callable[[], bool]) -> None:
        """Wait until `enough()`, or until the reading ends (raising what stopped it)."""
        assert self.task is not None
        while not enough():
            if self.task.done():
                if self.task.cancelled():
                    raise RemoteReadError("the index was no longer read")
                self.task.result()
                return
            await self._moved.wait()


@dataclass(frozen=True, slots=True)
class _Lane:
    """One track's fragments: the tracks they hold (their first fragment read) and the
    spans of the others, with the duration the playlist states."""

    tracks: list[TrackIndex]
    rest: list[Span]
    nominal_s: float


class _Resources:
    """URLs numbered as they are first met, each with the lane that reads it."""

    def __init__(self, ranges: HttpRanges) -> None:
        self._ranges = ranges
        self._numbers: dict[tuple[str, int], int] = {}
        self.lanes: list[int] = []

    def number(self, url: str, lane: int) -> int:
        number = self._numbers.get((url, lane))
        if number is None:
            number = self._numbers[url, lane] = self._ranges.add(url)
            self.lanes.append(lane)
        return number


async def read_ahead(source: SplitSource | SegmentedSource) -> Assembly | None:
    """The one-file layout of `source` (see `read_indexes`); None when none can be known
    ahead. Its ranges are closed when it is None."""
    indexed = await read_indexes(source)
    if indexed is None:
        return None
    assembly = indexed.whole()
    if assembly is None:
        await indexed.ranges.close()
    return assembly


async def read_indexes(
    source: SplitSource | SegmentedSource, *, growing: bool = False
) -> Indexed | None:
    """The samples of `source`, its indexes read with range requests through the source's
    guard; None when they cannot be known ahead. Whatever the source's `duration_check`
    raises propagates; so do the origin's errors (`RemoteReadError`). The caller closes
    the ranges of what it gets, which stops any reading still under way.

    `growing`: a segmented source is handed over once its first fragments are read, the
    others read in the background, in order (see `Indexed`); the duration checked is the
    longer of the declared one and the playlists' own."""
    ranges = HttpRanges(source.headers, source.url_check)
    resources = _Resources(ranges)
    growth: _Growth | None = None
    try:
        # the inputs' indexes are read at once: a segmented source's are many requests
        if isinstance(source, SplitSource):
            if not source.is_stream:
                await ranges.close()
                return None
            assert all(is_url(url) for url in source.inputs)
            found = await _together(
                *(
                    file_tracks(ranges, resources.number(str(url), lane))
                    for lane, url in enumerate(source.inputs)
                )
            )
        else:
            lanes = await _together(
                *(
                    _first_fragment(ranges, resources, lane, track)
                    for lane, track in enumerate(source.tracks)
                )
            )
            found = [lane.tracks for lane in lanes]
            growth = _Growth()
            growth.task = asyncio.create_task(_read_rest(ranges, lanes, growth))
            ranges.attach(growth.task)
            if not growing:
                await growth.wait(lambda: False)
        tracks = [track for tracks_of_input in found for track in tracks_of_input]
        chosen = tuple(_chosen(tracks, source.kind))
        if any(track.count == 0 for track in chosen):
            raise BoxError("a track without samples")
        if all(track.complete for track in chosen):
            duration = duration_s(chosen)
        else:
            nominal = (lane.nominal_s for lane in lanes)
            duration = max([source.duration_s or 0.0, *nominal])
    except (BoxError, SplitError, struct.error, IndexError) as exc:
        logger.info("No index known ahead: %s", exc)
        await ranges.close()
        return None
    except BaseException:
        await ranges.close()
        raise
    if source.duration_check is not None:
        try:
            source.duration_check(duration)
        except BaseException:
            await ranges.close()
            raise
    lanes_of = tuple(resources.lanes)
    return Indexed(chosen, ranges, lambda resource: lanes_of[resource], growth)


async def _together(*reads: Coroutine[Any, Any, _T]) -> list[_T]:
    """The results of `reads` run at once; the first failure stops the others."""
    tasks = [asyncio.ensure_future(read) for read in reads]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _chosen(tracks: list[TrackIndex], kind: MediaKind) -> list[TrackIndex]:
    """The first sound track, and for a video the first picture track."""
    sound = next((track for track in tracks if track.handler == SOUND), None)
    picture = next((track for track in tracks if track.handler == VIDEO), None)
    if kind is MediaKind.AUDIO:
        if sound is None:
            raise BoxError("no sound track")
        return [sound]
    if picture is None:
        raise BoxError("no picture track")
    return [picture] if sound is None else [picture, sound]


async def _first_fragment(
    ranges: HttpRanges, resources: _Resources, lane: int, track: FragmentTrack
) -> _Lane:
    """The tracks of `track` with its first fragment's samples, the other fragments left
    to read."""
    if track.playlist_url is not None:
        number = resources.number(track.playlist_url, lane)
        text = await ranges.read(number, 0, _PLAYLIST_MAX_BYTES)
        if len(text) >= _PLAYLIST_MAX_BYTES:
            raise BoxError("a playlist too large")
        track = parse_media_playlist(text.decode("utf-8", errors="replace"), track.playlist_url)
    if track.init is None:
        raise BoxError("fragments without an init (MPEG-TS)")
    if any(fragment.key is not None for fragment in (track.init, *track.fragments)):
        raise BoxError("encrypted fragments")
    spans = [_span(resources, lane, fragment) for fragment in track.fragments]
    tracks = await init_tracks(ranges, _span(resources, lane, track.init))
    await read_fragments(ranges, spans[:1], tracks)
    for found in tracks:
        found.growing, found.complete = True, len(spans) == 1
    nominal = sum(fragment.duration_s or 0.0 for fragment in track.fragments)
    return _Lane(tracks, spans[1:], nominal)


async def _read_rest(ranges: HttpRanges, lanes: list[_Lane], growth: _Growth) -> None:
    """Read every lane's other fragments at once, waking `growth`'s waiters as each is
    added and when the reading ends."""

    async def lane_rest(lane: _Lane) -> list[TrackIndex]:
        if lane.rest:
            await read_fragments(ranges, lane.rest, lane.tracks, growth.moved)
        for track in lane.tracks:
            track.complete = True
        return lane.tracks

    try:
        await _together(*(lane_rest(lane) for lane in lanes))
    finally:
        growth.moved()


def _span(resources: _Resources, lane: int, fragment: Fragment) -> Span:
    number = resources.number(fragment.url, lane)
    if fragment.byte_range is None:
        return Span(number)
    offset, length = fragment.byte_range
    return Span(number, offset, length)
