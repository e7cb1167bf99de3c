"""A remote source's indexes read ahead: its tracks' samples, or None.

`read_indexes` takes what the cutters take (`SplitSource` of URLs, `SegmentedSource`) and
returns the `Indexed` source: the tracks a delivery keeps, every sample known, and the
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
from typing import Any

from mediabot.domain.enums import MediaKind
from mediabot.media.faststart.boxes import BoxError
from mediabot.media.faststart.index import Span, file_tracks, fragment_tracks
from mediabot.media.faststart.layout import Layout, duration_s, lay_out
from mediabot.media.faststart.remote import HttpRanges
from mediabot.media.faststart.samples import SOUND, VIDEO, TrackIndex
from mediabot.media.fragments.playlist import Fragment, FragmentTrack, parse_media_playlist
from mediabot.media.parts import SplitError
from mediabot.media.sources import SegmentedSource, SplitSource, is_url

logger = logging.getLogger(__name__)

_PLAYLIST_MAX_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Assembly:
    """What spooling the file needs: its layout, the ranges, and which resources are read
    one after another (`lane_of`)."""

    layout: Layout
    ranges: HttpRanges
    lane_of: Callable[[int], int]


@dataclass(frozen=True, slots=True)
class Indexed:
    """A source whose samples are all known: `tracks` (the picture first, then the sound),
    `ranges` to fetch them, `lane_of` as in `Assembly`, and the media's duration."""

    tracks: tuple[TrackIndex, ...]
    ranges: HttpRanges
    lane_of: Callable[[int], int]
    duration_s: float

    def whole(self) -> Assembly | None:
        """The one file holding every sample; None when its boxes cannot be rewritten."""
        try:
            layout = lay_out(self.tracks)
        except (BoxError, struct.error, IndexError) as exc:
            logger.info("No one file laid out: %s", exc)
            return None
        return Assembly(layout, self.ranges, self.lane_of)


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


async def read_indexes(source: SplitSource | SegmentedSource) -> Indexed | None:
    """The samples of `source`, its indexes read with range requests through the source's
    guard; None when they cannot be known ahead. Whatever the source's `duration_check`
    raises propagates; so do the origin's errors (`RemoteReadError`). The caller closes
    the ranges of what it gets."""
    ranges = HttpRanges(source.headers, source.url_check)
    resources = _Resources(ranges)
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
            found = await _together(
                *(
                    _fragment_tracks(ranges, resources, lane, track)
                    for lane, track in enumerate(source.tracks)
                )
            )
        tracks = [track for tracks_of_input in found for track in tracks_of_input]
        chosen = tuple(_chosen(tracks, source.kind))
        if any(track.count == 0 for track in chosen):
            raise BoxError("a track without samples")
        duration = duration_s(chosen)
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
    lanes = tuple(resources.lanes)
    return Indexed(chosen, ranges, lambda resource: lanes[resource], duration)


async def _together(*reads: Coroutine[Any, Any, list[TrackIndex]]) -> list[list[TrackIndex]]:
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


async def _fragment_tracks(
    ranges: HttpRanges, resources: _Resources, lane: int, track: FragmentTrack
) -> list[TrackIndex]:
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
    return await fragment_tracks(
        ranges,
        _span(resources, lane, track.init),
        [_span(resources, lane, fragment) for fragment in track.fragments],
    )


def _span(resources: _Resources, lane: int, fragment: Fragment) -> Span:
    number = resources.number(fragment.url, lane)
    if fragment.byte_range is None:
        return Span(number)
    offset, length = fragment.byte_range
    return Span(number, offset, length)
