"""What every cutter gives and how it fails: parts on disk, the cutter's verbs, `SplitError`.

Both cutters (`cutters.files.Splitter` for files and remote files,
`cutters.fragments.SegmentSplitter` for HLS and DASH fragments) take the same streams from
their inputs and write a part the same way: one `ffmpeg -c copy` into MP4 for video, M4A
for audio, named `<stem>-<index>` in the work folder; the caller owns the part and deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mediabot.domain.enums import MediaKind
from mediabot.media.probe import MediaInfo, StreamInfo


class SplitError(Exception):
    """The media cannot be cut under the limit without re-encoding, or cannot be read."""


@dataclass(frozen=True, slots=True)
class CutPart:
    """One part on disk: index (0-based), its time range in the source, its size."""

    path: Path
    index: int
    start_s: float
    end_s: float
    size_bytes: int
    is_last: bool

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    def announced_total(self, estimated: int) -> int:
        """How many parts this part's caption announces, when `estimated` were expected:
        exact for the last part, otherwise at least one more than this one."""
        return self.index + 1 if self.is_last else max(estimated, self.index + 2)


class PartCutter(Protocol):
    """What a large-file sender cuts parts with: `Splitter` (files, remote files) or
    `SegmentSplitter` (HLS and DASH fragments).

    `open` reads what the source is; `survey` gets ready to cut from `start_s` (and may
    start reading); `estimate_parts` and `part_target` count and size the parts left;
    `cut` writes one part starting at a cut point; `close` stops all reading and deletes
    what the cutter kept (never the parts).
    """

    @property
    def video(self) -> StreamInfo | None: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def survey(self, start_s: float, limit_bytes: int) -> None: ...

    def estimate_parts(self, start_s: float, limit_bytes: int) -> int: ...

    def part_target(self, start_s: float, parts_left: int, limit_bytes: int) -> int | None: ...

    async def cut(
        self, start_s: float, index: int, limit_bytes: int, *, target_bytes: int | None = None
    ) -> CutPart: ...


def part_suffix(kind: MediaKind) -> str:
    """The container of a part: MP4 for video, M4A for audio."""
    return ".mp4" if kind is MediaKind.VIDEO else ".m4a"


def part_path(work_dir: Path, stem: str, index: int, kind: MediaKind) -> Path:
    """Where part `index` (0-based) is written."""
    return work_dir / f"{stem}-{index:03d}{part_suffix(kind)}"


def copy_output_args(kind: MediaKind, path: Path) -> list[str]:
    """ffmpeg's output options of a part, after its `-map`s and `-c copy`: timestamps from
    zero, no metadata of the source, and for video the index first, so a part plays while
    it downloads."""
    args = ["-avoid_negative_ts", "make_zero", "-map_metadata", "-1"]
    if kind is MediaKind.VIDEO:
        args += ["-movflags", "+faststart"]
    return [*args, str(path)]


def chosen_streams(
    info: MediaInfo, kind: MediaKind, position: int, inputs: int
) -> tuple[StreamInfo | None, StreamInfo | None]:
    """The (video, audio) streams a part takes from input `position` of `inputs`.

    Video only for a video part. Of a pair of inputs (DASH, or HLS with a separate audio
    rendition) the first gives the picture and the second the sound, whatever else each
    holds.
    """
    video = info.video if kind is MediaKind.VIDEO else None
    audio = info.audio
    if inputs == 2:
        video, audio = (video, None) if position == 0 else (None, audio)
    return video, audio


def check_opened(kind: MediaKind, keyframe_stream: int | None, duration_s: float) -> None:
    """Refuse a source once open that a part cannot be made of: a video without a picture
    stream, or media of no known length."""
    if kind is MediaKind.VIDEO and keyframe_stream is None:
        raise SplitError("the source has no video stream")
    if duration_s <= 0:
        raise SplitError("the source has no known duration")
