"""Recorded extractor output: downloader subclasses fed from JSON fixtures instead of the site."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mediabot.downloaders.base import Downloader
from mediabot.downloaders.ytdl import YtdlSession

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extractors"


def load(name: str) -> dict[str, Any]:
    """A recorded yt-dlp info dictionary."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def recorded(cls: type[Downloader], info: dict[str, Any]) -> type[Downloader]:
    """`cls` with its extraction step answered by `info`; records the URLs it was asked for.

    Everything else (the guard on the link, limits, format choice, executions) is the real
    class: only the seam that would call the site is replaced.
    """
    asked: list[str] = []

    class Recorded(cls):  # type: ignore[valid-type, misc]
        extracted = asked

        @classmethod
        def _extract_info(cls, url: str, session: YtdlSession) -> dict[str, Any]:
            asked.append(url)
            return copy.deepcopy(info)

    Recorded.__name__ = f"Recorded{cls.__name__}"
    return Recorded


def rewrite_urls(info: Any, mapping: dict[str, str]) -> Any:
    """`info` with every URL that `mapping` names replaced (to point at the media server)."""
    if isinstance(info, dict):
        return {key: rewrite_urls(value, mapping) for key, value in info.items()}
    if isinstance(info, list):
        return [rewrite_urls(value, mapping) for value in info]
    if isinstance(info, str):
        return mapping.get(info, info)
    return info


def progressive_format(url: str) -> dict[str, Any]:
    """A format as yt-dlp describes one H.264/AAC MP4 file at 640x360 (the bench's)."""
    return {
        "format_id": "progressive",
        "url": url,
        "ext": "mp4",
        "protocol": "http",
        "vcodec": "avc1.64001e",
        "acodec": "mp4a.40.2",
        "width": 640,
        "height": 360,
        "video_ext": "mp4",
        "audio_ext": "none",
    }
