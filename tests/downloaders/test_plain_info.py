"""yt-dlp's info made plain JSON data as `sanitize_info` makes it, faster."""

from __future__ import annotations

from yt_dlp import YoutubeDL
from yt_dlp.utils import LazyList

from mediabot.downloaders.probing import _plain


class _Headers(dict[str, str]):
    pass


class _Odd:
    def __repr__(self) -> str:
        return "<odd>"


def _info() -> dict[str, object]:
    return {
        "id": "a",
        "epoch": 1_700_000_000,
        "formats": [{"format_id": "v", "fragments": [{"path": "v-0.m4s", "duration": 0.2}]}],
        "tags": ("x", "y"),
        "seen": {"z"},
        "lazy": LazyList(iter([1, 2])),
        "odd": _Odd(),
        "none": None,
        "flag": True,
        "numbered": {1: "one"},
        "subclassed": _Headers({"User-Agent": "x"}),
    }


def test_the_info_comes_out_as_sanitize_info_gives_it() -> None:
    expected = YoutubeDL.sanitize_info(_info())
    expected.pop("_version")  # yt-dlp's own stamp: nothing reads it
    assert _plain(_info()) == expected
