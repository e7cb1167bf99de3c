"""The loopback cache answers Range requests the way ffmpeg asks them (aiohttp's parser)."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from mediabot.media.remote.server import _requested

SIZE = 100


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, (0, 99)),
        ("bytes=0-9", (0, 9)),
        ("bytes=90-200", (90, 99)),
        ("bytes=40-", (40, 99)),
        ("bytes=-4", (96, 99)),
        ("bytes=-400", (0, 99)),
        ("bytes=100-", None),
        ("bytes=9-3", None),
        ("bytes=0-1,5-9", None),
        ("items=0-9", None),
    ],
)
def test_requested_ranges(header: str | None, expected: tuple[int, int] | None) -> None:
    headers = {"Range": header} if header is not None else {}
    assert _requested(make_mocked_request("GET", "/0/video", headers=headers), SIZE) == expected


def test_an_empty_source_has_no_satisfiable_range() -> None:
    assert _requested(make_mocked_request("GET", "/0/video"), 0) is None
