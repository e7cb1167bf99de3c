"""A subtitle file fetched through the guard, converted to SRT, cut to a clip.

The file is read as any small remote document (`FragmentClient`: each URL and redirect
checked, the guard proxy carrying the request, at most 8 MB), converted by ffmpeg (WebVTT,
SRT and ASS in, SubRip out), then cut in Python: the cues that overlap the clip are kept,
clamped to it, shifted so the clip's first frame is 0, and numbered again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mediabot.media.fragments.client import FragmentClient
from mediabot.media.remote.http import RemoteReadError, UrlCheck
from mediabot.media.tools import FFMPEG, MediaToolError, discard, run_tool

_FORMATS = {"vtt": "webvtt", "srt": "srt", "ass": "ass"}
"""ffmpeg's demuxer of each subtitle format read."""
_TIMING = re.compile(
    r"^(\d+):(\d{2}):(\d{2})[,.](\d{3})\s*-->\s*(\d+):(\d{2}):(\d{2})[,.](\d{3})", re.MULTILINE
)


class SubtitleError(Exception):
    """The subtitles cannot be fetched or read."""


@dataclass(frozen=True, slots=True)
class Cue:
    """One subtitle: shown from `start_s` to `end_s`, its text lines."""

    start_s: float
    end_s: float
    text: str


async def fetch_srt(
    url: str,
    ext: str,
    path: Path,
    *,
    headers: Mapping[str, str],
    url_check: UrlCheck | None,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> bool:
    """Write the subtitles at `url` (format `ext`: `vtt`, `srt` or `ass`) into `path` as
    SRT, cut to `start_s`-`end_s` of the video (None: to its end) and shifted so
    `start_s` is 0. Returns False (and writes nothing) when no cue falls in that time.

    Raises `SubtitleError` when the file cannot be fetched or is not subtitles.
    """
    demuxer = _FORMATS.get(ext)
    if demuxer is None:
        raise SubtitleError(f"subtitles in {ext} cannot be converted")
    client = FragmentClient(headers, url_check)
    client.open()
    try:
        text = await client.playlist(url)  # a small document, read whole
    except RemoteReadError as exc:
        raise SubtitleError(str(exc)) from exc
    finally:
        await client.close()
    source = path.with_name(f".{path.name}.source.{ext}")  # never `path` itself
    await asyncio.to_thread(source.write_text, text, "utf-8")
    try:
        await run_tool(
            [
                *(FFMPEG, "-v", "error", "-nostdin", "-y", "-f", demuxer, "-i", str(source)),
                *("-map", "0:s:0", "-c:s", "srt", "-f", "srt", str(path)),
            ]
        )
        converted = await asyncio.to_thread(path.read_text, "utf-8")
    except MediaToolError as exc:
        discard(path)
        raise SubtitleError(f"the subtitles cannot be read: {exc}") from exc
    finally:
        discard(source)
    cues = cut(parse_srt(converted), start_s, end_s)
    if not cues:
        discard(path)
        return False
    await asyncio.to_thread(path.write_text, format_srt(cues), "utf-8")
    return True


def parse_srt(text: str) -> list[Cue]:
    """The cues of an SRT text, in order; blocks without a timing line are skipped."""
    cues = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip()):
        match = _TIMING.search(block)
        if match is None:
            continue
        numbers = [int(group) for group in match.groups()]
        start = numbers[0] * 3600 + numbers[1] * 60 + numbers[2] + numbers[3] / 1000
        end = numbers[4] * 3600 + numbers[5] * 60 + numbers[6] + numbers[7] / 1000
        lines = block[match.end() :].strip("\n")
        if lines.strip():
            cues.append(Cue(start, end, lines))
    return cues


def cut(cues: list[Cue], start_s: float, end_s: float | None) -> list[Cue]:
    """The cues shown between `start_s` and `end_s` (None: the end), clamped to that
    time and shifted so `start_s` is 0."""
    kept = []
    for cue in cues:
        if cue.end_s <= start_s or (end_s is not None and cue.start_s >= end_s):
            continue
        stop = cue.end_s if end_s is None else min(cue.end_s, end_s)
        kept.append(Cue(max(cue.start_s, start_s) - start_s, stop - start_s, cue.text))
    return kept


def format_srt(cues: list[Cue]) -> str:
    """SubRip text of `cues`, numbered from 1."""
    blocks = [
        f"{number}\n{_stamp(cue.start_s)} --> {_stamp(cue.end_s)}\n{cue.text}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"
