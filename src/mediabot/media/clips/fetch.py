"""The bytes a clip needs, fetched through the guard into local files ffmpeg cuts from.

Three layouts, each read only where the clip is:

- fragments (HLS media playlists, segmented DASH): the fragments whose listed time range
  meets the clip, with the track's init, concatenated into one file per track; the
  picture's from as many fragments before the one holding the start as the cutter asks
  for (`lead`) when that one shows no keyframe at or before the start (HLS and DASH ask
  that every fragment start with one), at most `KEYFRAME_BACK_S` before the start
  (`NoKeyframeError` past that);
- a fragmented MP4 indexed by a `sidx` (YouTube's DASH formats): its init (`ftyp` +
  `moov`), then the subsegments the `sidx` places over the clip, as one file;
- a plain MP4: a sparse file as long as the source holding its index (every byte outside
  the `mdat` payloads), read by ffprobe for the packets' places, then the one byte span
  holding the clip's packets from the keyframe at or before its start.

A pair (video, audio) is read video first; the audio is read from where the video's bytes
start, so the sound covers the picture. Pieces are placed in time by the durations their
lists state: a list whose durations drift from the media puts the start off by as much.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mediabot.domain.clips import Clip, ClipProblem, ClipRangeError
from mediabot.media.clips import boxes, samples, window
from mediabot.media.clips.ranges import RangeReader
from mediabot.media.fragments.client import FragmentClient
from mediabot.media.fragments.playlist import Fragment, FragmentTrack, parse_media_playlist
from mediabot.media.parts import SplitError
from mediabot.media.probe import Packet, ProbeError, packets_command, parse_packets, probe
from mediabot.media.remote.http import UrlCheck, client_session, route
from mediabot.media.tools import MediaToolError, run_tool

_IN_FLIGHT = 3
_SEEK_SPAN_S = 30.0
"""Packets read from the index of a plain MP4 past the clip's start when it runs to the
end of the source (enough to find the keyframe and the span's first byte)."""
KEYFRAME_BACK_S = 10.0
"""How far before a clip's start its picture's keyframe is looked for (fragments that do
not start with one, a plain MP4, a whole file): farther, the clip is refused."""
_TOLERANCE_S = 0.001
_READ_PAST_S = 2.0
"""Packets are read this far past the clip's end: in decode order (B-frames) the last
packets shown before the end come after it. An absolute end, as ffprobe counts a
relative one from where it starts reading (the keyframe before)."""


class NoKeyframeError(Exception):
    """The picture has no keyframe from `searched_s` before `at_s` (source times) to
    `at_s`: a clip cannot start there without re-encoding."""

    def __init__(self, at_s: float, searched_s: float) -> None:
        self.at_s = at_s
        self.searched_s = searched_s
        super().__init__(f"no keyframe in the {searched_s:g} s before {at_s:.3f} s")


@dataclass(frozen=True, slots=True)
class LocalTrack:
    """A track of the clip on disk. `starts_at_s`: the source time its first piece stands
    for (its timestamps are the media's own, whatever they start from); None when its
    timestamps are the source's times (a plain MP4, whose bytes outside the clip are
    zeros: `keyframe` is then the keyframe its video starts at, when it has video)."""

    path: Path
    starts_at_s: float | None
    keyframe: Packet | None = None


@dataclass(frozen=True, slots=True)
class Want:
    """What to fetch of one track: from `from_s` to `end_s` (None: the end), source times."""

    from_s: float
    end_s: float | None


def track_path(folder: Path, stem: str, position: int) -> Path:
    """Where track `position` (0 or 1) of a clip named `stem` is fetched to."""
    return folder / f".{stem}.t{position}.src"


def _past_end(clip: Clip, duration_s: float) -> ClipRangeError:
    return ClipRangeError(ClipProblem.PAST_END, clip.label, duration_s)


async def resolved(tracks: Sequence[FragmentTrack], client: FragmentClient) -> list[FragmentTrack]:
    """`tracks` with each HLS media playlist read into its fragments (read once for all
    the calls of `fetch_fragments` a clip makes)."""
    return [
        parse_media_playlist(await client.playlist(spec.playlist_url), spec.playlist_url)
        if spec.playlist_url is not None
        else spec
        for spec in tracks
    ]


async def fetch_fragments(
    tracks: Sequence[FragmentTrack],
    client: FragmentClient,
    clip: Clip,
    folder: Path,
    stem: str,
    pieces: dict[Fragment, Path],
    *,
    lead: int = 0,
) -> list[LocalTrack]:
    """Each of `tracks` (video first, `resolved`) as one local file holding the fragments
    the clip needs, the first track's from `lead` fragments before the one holding the
    clip's start (to reach a keyframe before it). Each fragment is fetched once into
    `pieces`, kept there for the caller to delete: a call with a larger `lead` fetches
    only the earlier ones.

    Raises `ClipRangeError` when the clip starts past the tracks' end, `NoKeyframeError`
    when `lead` reaches more than `KEYFRAME_BACK_S` before the start (or before the
    first fragment), `SplitError` when a track does not list its fragments' durations,
    `RemoteReadError` when the origin cannot be read."""
    local: list[LocalTrack] = []
    want = Want(float(clip.start_s), clip.end_s)
    for position, spec in enumerate(tracks):
        starts = window.starts_of([fragment.duration_s for fragment in spec.fragments])
        if starts is None:
            raise SplitError("the fragments' durations are not listed")
        total = starts[-1] + (spec.fragments[-1].duration_s or 0.0)
        if clip.start_s >= total:
            raise _past_end(clip, total)
        chosen = window.covering(starts, want.from_s, want.end_s)
        first = chosen.start
        if position == 0 and lead:
            first -= lead
            if first < 0 or want.from_s - starts[first] > KEYFRAME_BACK_S + _TOLERANCE_S:
                raise NoKeyframeError(want.from_s, KEYFRAME_BACK_S)
        wanted = ([spec.init] if spec.init else []) + list(spec.fragments[first : chosen.stop])
        path = track_path(folder, stem, position)
        await _fetch_pieces(client, wanted, path, pieces)
        await asyncio.to_thread(_join, [pieces[fragment] for fragment in wanted], path)
        local.append(LocalTrack(path, starts[first]))
        want = Want(starts[first], want.end_s)
    return local


async def _fetch_pieces(
    client: FragmentClient, fragments: list[Fragment], path: Path, pieces: dict[Fragment, Path]
) -> None:
    """Those of `fragments` not in `pieces` fetched (`_IN_FLIGHT` at once) into files
    beside `path`, each added to `pieces` as it starts (its owner deletes what came)."""
    gate = asyncio.Semaphore(_IN_FLIGHT)

    async def fetch(fragment: Fragment, part: Path) -> None:
        async with gate:
            await client.fetch(fragment, part)

    tasks = []
    for fragment in fragments:
        if fragment not in pieces:
            pieces[fragment] = path.with_name(f"{path.name}.{len(pieces):05d}")
            tasks.append(asyncio.create_task(fetch(fragment, pieces[fragment])))
    try:
        await asyncio.gather(*tasks)  # the first failure, as itself
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _allocate(path: Path, size: int) -> None:
    """An empty file of `size` bytes at `path`: sparse, the disk holds what is written."""
    with path.open("wb") as output:
        output.truncate(size)


def _read(path: Path, box: boxes.Box) -> bytes:
    with path.open("rb") as source:
        source.seek(box.offset)
        return source.read(box.size)


def _join(parts: list[Path], path: Path) -> None:
    """`parts` written one after the other into `path`."""
    with path.open("wb") as output:
        for part in parts:
            output.write(part.read_bytes())


async def fetch_ranges(
    urls: Sequence[str],
    headers: dict[str, str],
    url_check: UrlCheck | None,
    clip: Clip,
    folder: Path,
    stem: str,
    *,
    picture: bool,
) -> tuple[list[LocalTrack], int]:
    """Each of `urls` (one muxed MP4, or video then audio) as a local file holding the
    bytes the clip needs, and the bytes read from the origin; with `picture`, from the
    keyframe at or before the clip's start, else (the sound only) from the start itself.

    Raises `SplitError` for a file that is neither a plain MP4 nor one indexed by a
    `sidx`, `ClipRangeError` when the clip starts past its end, `RemoteReadError` when
    the origin cannot be read."""
    local: list[LocalTrack] = []
    fetched = 0
    want = Want(float(clip.start_s), clip.end_s)
    async with client_session(route(url_check)[1]) as session:
        for position, url in enumerate(urls):
            reader = RangeReader(url, headers, url_check, session)
            path = track_path(folder, stem, position)
            try:
                track, want = await _fetch_indexed(
                    reader, clip, want, path, keyframes=picture and position == 0
                )
            finally:
                fetched += reader.fetched_bytes
            local.append(track)
    return local, fetched


async def _fetch_indexed(
    reader: RangeReader, clip: Clip, want: Want, path: Path, *, keyframes: bool
) -> tuple[LocalTrack, Want]:
    """One MP4 by its index: the local track, and what the next track is to cover."""
    await reader.read(0, 8)
    assert reader.size is not None
    layout = await boxes.top_boxes(reader.read, reader.size)
    if layout is None:
        raise SplitError("the file is not an MP4")
    job = _Job(reader, clip, want, path, keyframes)
    if layout[-1].kind == b"moof":
        return await _fetch_subsegments(job, layout)
    return await _fetch_plain(job, layout)


@dataclass(frozen=True, slots=True)
class _Job:
    """One MP4 to read: with `reader`, for `clip`, covering `want`, into `path`, from a
    keyframe when `keyframes`."""

    reader: RangeReader
    clip: Clip
    want: Want
    path: Path
    keyframes: bool


async def _fetch_subsegments(job: _Job, layout: list[boxes.Box]) -> tuple[LocalTrack, Want]:
    reader, clip, want, path = job.reader, job.clip, job.want, job.path
    index = next((box for box in layout if box.kind == b"sidx"), None)
    if index is None:
        raise SplitError("the fragmented MP4 has no sidx: its fragments are not indexed")
    try:
        subsegments = boxes.parse_sidx(await reader.read(index.offset, index.size), index)
    except ValueError as exc:
        raise SplitError(f"the MP4's index cannot be read: {exc}") from exc
    if not subsegments:
        raise SplitError("the MP4's index lists no media")
    origin = subsegments[0].start_s
    starts = [subsegment.start_s - origin for subsegment in subsegments]
    total = starts[-1] + subsegments[-1].duration_s
    if clip.start_s >= total:
        raise _past_end(clip, total)
    chosen = window.covering(starts, want.from_s, want.end_s)
    first_number = chosen.start
    while job.keyframes and first_number > 0 and not subsegments[first_number].starts_with_sap:
        first_number -= 1  # a picture is cut from a keyframe: back to one
    first, last = subsegments[first_number], subsegments[chosen.stop - 1]
    init = min(index.offset, layout[-1].offset)  # `ftyp` and `moov`, before the index
    await asyncio.to_thread(_allocate, path, 0)
    await reader.copy_into(path, 0, init, at=0)
    await reader.copy_into(path, first.offset, last.offset + last.size - first.offset, at=init)
    from_s = first.start_s - origin
    return LocalTrack(path, from_s), Want(from_s, want.end_s)


async def _fetch_plain(job: _Job, layout: list[boxes.Box]) -> tuple[LocalTrack, Want]:
    reader, clip, want, path = job.reader, job.clip, job.want, job.path
    assert reader.size is not None
    await asyncio.to_thread(_allocate, path, reader.size)
    for box in layout:  # the index: all but the sample data, with `mdat`'s own header
        count = box.header if box.kind == b"mdat" else box.size
        await reader.copy_into(path, box.offset, count, at=box.offset)
    moov = next((box for box in layout if box.kind == b"moov"), None)
    if moov is None:
        raise SplitError("the MP4 has no index")
    try:
        keys = samples.keyframe_positions(await asyncio.to_thread(_read, path, moov))
        info = await probe(path)
        streams = tuple(stream.index for stream in info.streams)
        duration = info.duration_s or 0.0
        if clip.start_s >= duration:
            raise _past_end(clip, duration)
        end = want.end_s if want.end_s is not None and want.end_s < duration else None
        until = (end if end is not None else want.from_s + _SEEK_SPAN_S) + _READ_PAST_S
        interval = f"{want.from_s:.6f}%{until:.6f}"  # an end from the start of reading
        raw = await run_tool(packets_command(path, input_args=["-read_intervals", interval]))
        packets = parse_packets(raw, streams)
    except (ProbeError, MediaToolError, ValueError) as exc:
        raise SplitError(f"the MP4's index cannot be read: {exc}") from exc
    from_s, keyframe = want.from_s, None
    if job.keyframes and info.video is not None:
        video = info.video.index
        packets = [  # ffprobe marks keyframes by their bytes, not fetched yet
            replace(p, keyframe=keys is None or p.position in keys)
            if p.stream_index == video
            else p
            for p in packets
        ]
        keyframe = window.keyframe_at_or_before(packets, video, want.from_s)
        if keyframe is None or not window.near_before(keyframe, want.from_s, KEYFRAME_BACK_S):
            raise NoKeyframeError(want.from_s, KEYFRAME_BACK_S)
        from_s = min(keyframe.pts_s, keyframe.dts_s)
    if end is None:  # to the end of the source: every packet from the start on
        first, _ = window.byte_span(packets, from_s, from_s + _SEEK_SPAN_S)
        stop = max(box.end for box in layout if box.kind == b"mdat")
    else:
        first, stop = window.byte_span(packets, from_s, end)
    await reader.copy_into(path, first, stop - first, at=first)
    track = LocalTrack(path, None, keyframe)
    return track, Want(from_s, want.end_s if end is not None else None)
