"""A remote source's indexes read ahead: the layout of its one-file delivery, or None.

`read_ahead` takes what the cutters take (`SplitSource` of URLs, `SegmentedSource`) and
returns the `Assembly` to spool: the final file's layout and the ranges to fill it from.
None means no index can be known ahead (MPEG-TS, encrypted fragments, a container or codec
this does not rewrite, a malformed box): the caller keeps the way that cuts or downloads.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

from mediabot.domain.enums import MediaKind
from mediabot.media.faststart.boxes import BoxError
from mediabot.media.faststart.index import Span, file_tracks, fragment_tracks
from mediabot.media.faststart.layout import Layout, lay_out
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
    """The one-file layout of `source`, its indexes read with range requests through the
    source's guard; None when none can be known ahead. Whatever the source's
    `duration_check` raises propagates; so do the origin's errors (`RemoteReadError`)."""
    ranges = HttpRanges(source.headers, source.url_check)
    resources = _Resources(ranges)
    try:
        if isinstance(source, SplitSource):
            if not source.is_stream:
                return None
            tracks: list[TrackIndex] = []
            for lane, url in enumerate(source.inputs):
                assert is_url(url)
                tracks += await file_tracks(ranges, resources.number(str(url), lane))
        else:
            tracks = []
            for lane, track in enumerate(source.tracks):
                tracks += await _fragment_tracks(ranges, resources, lane, track)
        layout = lay_out(_chosen(tracks, source.kind))
    except (BoxError, SplitError, struct.error, IndexError) as exc:
        logger.info("No index known ahead: %s", exc)
        await ranges.close()
        return None
    except BaseException:
        await ranges.close()
        raise
    if source.duration_check is not None:
        try:
            source.duration_check(layout.duration_s)
        except BaseException:
            await ranges.close()
            raise
    lanes = tuple(resources.lanes)
    return Assembly(layout, ranges, lambda resource: lanes[resource])


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
