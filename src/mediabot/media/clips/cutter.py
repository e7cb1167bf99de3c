"""A clip of a source, cut without re-encoding from only the bytes it needs.

`cut_clip` is the one verb: the bytes the clip needs are fetched through the guard
(`clips.fetch`), then one `ffmpeg -c copy` writes the clip from the keyframe at or before
the asked start to the asked end, as MP4 with its index first (M4A for audio).

The start: a copy starts at a keyframe, so the clip starts at the last keyframe at or
before the asked time: within one keyframe interval before it (a second on most sites),
the sound cut at the same moment. It is never after it: HLS and DASH fragments that do
not start with a keyframe (their specifications ask that they do) are read from the
nearest earlier fragment holding one, up to `fetch.KEYFRAME_BACK_S` before the start
(`sidx` subsegments from the last one marked as starting with one). A picture with no
keyframe that near before the start (in fragments, a plain MP4 or a whole file) is
refused (`NoKeyframeError`) rather than cut far from the asked time. `ClipFile.start_s`
says where the clip really starts, so the caller can say so. Nothing is re-encoded: the
picture is the source's, bit for bit.

One file is made, whatever its size: a clip larger than what may be sent in one piece is
split by the caller like any downloaded file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mediabot.domain.clips import Clip, ClipProblem, ClipRangeError
from mediabot.domain.enums import MediaKind
from mediabot.media.clips import window
from mediabot.media.clips.fetch import (
    KEYFRAME_BACK_S,
    LocalTrack,
    NoKeyframeError,
    fetch_fragments,
    fetch_ranges,
    resolved,
    track_path,
)
from mediabot.media.fragments.client import FragmentClient
from mediabot.media.fragments.playlist import Fragment
from mediabot.media.parts import SplitError, copy_output_args, part_suffix
from mediabot.media.probe import (
    ProbeError,
    packets_command,
    parse_packets,
    probe,
    read_packets,
)
from mediabot.media.remote.http import RemoteReadError
from mediabot.media.sources import SegmentedSource, SplitSource, is_url
from mediabot.media.tools import FFMPEG, MediaToolError, discard, run_tool

logger = logging.getLogger(__name__)

_SEEK_BEFORE_S = 0.0005
"""ffmpeg starts a copied stream by decode time: cut just before the keyframe's."""
_KEYFRAME_SEARCH_S = 2.0
_LATE_S = 0.001


class SourceReadError(SplitError):
    """The source's bytes could not be read (refused, unreachable, an HTTP error, no byte
    ranges): its addresses may have expired, a fresh lookup may read it."""


@dataclass(frozen=True, slots=True)
class ClipFile:
    """A clip on disk (the caller's to send and delete).

    `start_s` is the source time of its first frame (the keyframe at or before the asked
    start), `end_s` the asked end (None: the source's end), both from the source's start;
    `fetched_bytes` is what was read from the origin to make it.
    """

    path: Path
    start_s: float
    end_s: float | None
    size_bytes: int
    fetched_bytes: int


async def cut_clip(
    source: SplitSource | SegmentedSource, clip: Clip, work_dir: Path, *, stem: str = "clip"
) -> ClipFile:
    """Cut `clip` out of `source` into `work_dir/<stem>.mp4` (`.m4a` for audio).

    `source` is what the downloaders describe for the cutters: fragments (HLS, segmented
    DASH), remote MP4s (plain, or fragmented and indexed by a `sidx`: one muxed, or video
    and audio), or local files. Only the bytes the clip needs are read (see `clips.fetch`),
    each request through the source's `url_check` and headers; for audio only the audio
    is read. Raises `ClipRangeError` (`PAST_END`) when the clip starts past the source's
    end, `NoKeyframeError` when the picture has no keyframe near enough before the clip's
    start to cut it there without re-encoding, and `SplitError` when the source cannot be
    read or cut this way (the caller may
    then download it whole and cut the clip from the file): `SourceReadError` when its
    bytes could not be read at all. The source's
    `duration_check` is not called: a duration limit applies to the clip
    (`Clip.length_s`), which the caller checks first.
    """
    kind = source.kind
    path = work_dir / f"{stem}{part_suffix(kind)}"
    fetched = 0
    tracks: list[LocalTrack] = []
    try:
        try:
            if isinstance(source, SegmentedSource):
                start_s, fetched = await _cut_fragments(source, clip, path, stem)
            elif source.is_stream:
                urls = [str(url) for url in source.inputs]
                urls = urls[1:] if _audio_of_pair(kind, urls) else urls
                headers = dict(source.headers)
                tracks, fetched = await fetch_ranges(
                    urls,
                    headers,
                    source.url_check,
                    clip,
                    work_dir,
                    stem,
                    picture=kind is MediaKind.VIDEO,
                )
            else:
                if any(is_url(item) for item in source.inputs):
                    raise SplitError("a clip is cut from remote inputs or files, not both")
                inputs = source.inputs[1:] if _audio_of_pair(kind, source.inputs) else source.inputs
                tracks = [LocalTrack(Path(item), None) for item in inputs]
                await _check_within(tracks[0].path, clip)
            if tracks:
                start_s = await _cut(tracks, clip, kind, path)
        except RemoteReadError as exc:
            raise SourceReadError(str(exc)) from exc
    finally:
        if isinstance(source, SegmentedSource) or source.is_stream:
            for position in range(2):  # what was fetched, the clip cut or not
                discard(track_path(work_dir, stem, position))
    size = path.stat().st_size
    logger.info(
        "Cut clip %s: from %.3f s, %d bytes, %d bytes fetched", clip.key, start_s, size, fetched
    )
    return ClipFile(path, start_s, clip.end_s, size, fetched)


async def _cut_fragments(
    source: SegmentedSource, clip: Clip, path: Path, stem: str
) -> tuple[float, int]:
    """Cut the clip of fragments into `path`: (the source time it starts at, the bytes
    read). The picture is read from the fragment holding the start, or, when that one
    shows no keyframe at or before it, from one more earlier fragment at a time until one
    does (`NoKeyframeError` past `KEYFRAME_BACK_S`); each fragment is read once."""
    kind = source.kind
    specs = source.tracks[1:] if _audio_of_pair(kind, source.tracks) else source.tracks
    client = FragmentClient(source.headers, source.url_check)
    client.open()
    pieces: dict[Fragment, Path] = {}
    try:
        tracks = await resolved(specs, client)
        lead = 0
        while True:
            local = await fetch_fragments(
                tracks, client, clip, path.parent, stem, pieces, lead=lead
            )
            try:
                return await _cut(local, clip, kind, path), client.fetched_bytes
            except _LateStartError:
                lead += 1
    finally:
        await client.close()
        for piece in pieces.values():
            discard(piece)


class _LateStartError(Exception):
    """The fetched fragments show no keyframe at or before the clip's start."""


def _audio_of_pair(kind: MediaKind, inputs: Sequence[object]) -> bool:
    """Whether only the second of a (video, audio) pair is needed."""
    return kind is MediaKind.AUDIO and len(inputs) == 2


async def _cut(tracks: list[LocalTrack], clip: Clip, kind: MediaKind, path: Path) -> float:
    """Write the clip into `path`; returns the source time it starts at."""
    reference = tracks[0]
    anchor = 0.0  # the source's start in the inputs' own timestamps
    asked = float(clip.start_s)
    first_dts, first_pts = asked, asked
    if reference.keyframe is not None:  # a plain MP4's, found from its index
        first_dts, first_pts = reference.keyframe.dts_s, reference.keyframe.pts_s
    elif reference.starts_at_s is not None:  # pieces: their first packet is their start
        try:
            info = await probe(reference.path)
            stream = info.video if kind is MediaKind.VIDEO else info.audio
            if stream is None:
                raise SplitError(f"the source has no {kind.value} stream")
            packets = parse_packets(
                await run_tool(packets_command(reference.path)), (stream.index,)
            )
        except (ProbeError, MediaToolError) as exc:
            raise SplitError(f"the clip's bytes cannot be read: {exc}") from exc
        if not packets:
            raise SplitError("the fetched pieces hold no packet")
        anchor = min(p.pts_s for p in packets) - reference.starts_at_s
        asked = first_dts = first_pts = anchor + clip.start_s
        if kind is MediaKind.VIDEO:
            keyframe = window.keyframe_at_or_before(packets, stream.index, asked)
            if keyframe is None or keyframe.pts_s > asked + _LATE_S:
                logger.info("Clip %s: no keyframe in its first piece; one more", clip.key)
                raise _LateStartError
            first_dts, first_pts = keyframe.dts_s, keyframe.pts_s
    elif kind is MediaKind.VIDEO:  # a local file: its keyframes as ffprobe reads them
        first_dts, first_pts = await _keyframe_in_file(reference.path, asked)
    end = None if clip.end_s is None else anchor + clip.end_s
    try:
        seek = first_pts if reference.starts_at_s is None else None
        await run_tool(clip_command([t.path for t in tracks], kind, first_dts, end, path, seek))
    except MediaToolError as exc:
        discard(path)
        raise SplitError(f"ffmpeg could not cut the clip: {exc}") from exc
    return max(0.0, first_pts - anchor)


async def _check_within(path: Path, clip: Clip) -> None:
    """Refuse a clip that starts past the end of the local file at `path`."""
    try:
        duration = (await probe(path)).duration_s
    except ProbeError as exc:
        raise SplitError(f"the file cannot be read: {exc}") from exc
    if duration is not None and clip.start_s >= duration:
        raise ClipRangeError(ClipProblem.PAST_END, clip.label, duration)


async def _keyframe_in_file(path: Path, asked: float) -> tuple[float, float]:
    """(decode, presentation) time of the keyframe at or before `asked` in a whole file."""
    try:
        info = await probe(path)
        if info.video is None:
            raise SplitError("the source has no video stream")
        packets = await read_packets(  # from the keyframe before `asked`, however far
            path, start_s=asked, span_s=_KEYFRAME_SEARCH_S, stream_indexes=(info.video.index,)
        )
    except ProbeError as exc:
        raise SplitError(f"the file cannot be read: {exc}") from exc
    keyframe = window.keyframe_at_or_before(packets, info.video.index, asked)
    if keyframe is None or not window.near_before(keyframe, asked, KEYFRAME_BACK_S):
        raise NoKeyframeError(asked, KEYFRAME_BACK_S)
    return keyframe.dts_s, keyframe.pts_s


def clip_command(
    inputs: Sequence[Path],
    kind: MediaKind,
    start_dts: float,
    end: float | None,
    path: Path,
    seek: float | None = None,
) -> list[str]:
    """The `ffmpeg -c copy` of the clip from `start_dts` (a decode time in the inputs'
    own timestamps) to `end` (None: their end) into `path`: the picture of the first input
    and the sound of the last (a muxed input gives both; audio: the sound only). With
    `seek`, each input is first sought to the keyframe at or before it (by its index), so
    the bytes before it are never read: in a plain MP4 fetched by ranges they are zeros."""
    args = [FFMPEG, "-v", "error", "-nostdin", "-y", "-copyts"]
    for item in inputs:
        if seek is not None:
            args += ["-ss", f"{seek + _SEEK_BEFORE_S:.6f}"]
        args += ["-i", str(item)]
    if kind is MediaKind.VIDEO:
        args += ["-map", "0:v:0", "-map", f"{len(inputs) - 1}:a:0?"]
    else:
        args += ["-map", f"{len(inputs) - 1}:a:0"]
    args += ["-c", "copy", "-ss", f"{start_dts - _SEEK_BEFORE_S:.6f}"]
    if end is not None:
        args += ["-to", f"{end:.6f}"]
    return args + copy_output_args(kind, path)
