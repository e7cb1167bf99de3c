"""HLS media playlists as the segment splitter reads them: what it cuts, what it refuses."""

from __future__ import annotations

import pytest

from mediabot.media.fragments.playlist import Fragment, FragmentKey, parse_media_playlist
from mediabot.media.parts import SplitError

URL = "https://cdn.example/v/index.m3u8"


def _playlist(*lines: str, ended: bool = True) -> str:
    return "\n".join(["#EXTM3U", "#EXT-X-TARGETDURATION:6", *lines, *(["#EXT-X-ENDLIST"] * ended)])


def test_fragments_keep_their_order_durations_byte_ranges_and_init() -> None:
    track = parse_media_playlist(
        _playlist(
            '#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"',
            "#EXTINF:6.0,",
            "#EXT-X-BYTERANGE:1000@720",
            "media.m4s",
            "#EXTINF:5.5,",
            "#EXT-X-BYTERANGE:900",
            "media.m4s",
            "#EXTINF:2,",
            "https://other.example/last.m4s?token=1",
        ),
        URL,
    )
    assert track.init == Fragment("https://cdn.example/v/init.mp4", byte_range=(0, 720))
    assert track.fragments == (
        Fragment("https://cdn.example/v/media.m4s", 6.0, (720, 1000)),
        Fragment("https://cdn.example/v/media.m4s", 5.5, (1720, 900)),
        Fragment("https://other.example/last.m4s?token=1", 2.0),
    )


def test_aes128_keys_take_the_given_iv_or_the_media_sequence_number() -> None:
    track = parse_media_playlist(
        _playlist(
            "#EXT-X-MEDIA-SEQUENCE:7",
            '#EXT-X-KEY:METHOD=AES-128,URI="k1.bin"',
            "#EXTINF:4,",
            "a.ts",
            '#EXT-X-KEY:METHOD=AES-128,URI="/keys/k2.bin",IV=0x0102',
            "#EXTINF:4,",
            "b.ts",
            "#EXT-X-KEY:METHOD=NONE",
            "#EXTINF:4,",
            "c.ts",
        ),
        URL,
    )
    a, b, c = track.fragments
    assert a.key == FragmentKey("https://cdn.example/v/k1.bin", (7).to_bytes(16, "big"))
    assert b.key == FragmentKey("https://cdn.example/keys/k2.bin", (0x0102).to_bytes(16, "big"))
    assert c.key is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (_playlist("#EXT-X-STREAM-INF:BANDWIDTH=1", "v.m3u8"), "master playlist"),
        (_playlist("#EXTINF:4,", "a.ts", ended=False), "live playlist"),
        (_playlist("#EXTINF:4,", "a.ts", "#EXT-X-DISCONTINUITY", "#EXTINF:4,", "b.ts"), "disc"),
        (_playlist('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="k"', "#EXTINF:4,", "a.ts"), "SAMPLE-AES"),
        (_playlist(), "no fragment"),
        ("<html>not a playlist</html>", "not an HLS playlist"),
    ],
)
def test_what_cannot_be_cut_as_one_stream_is_refused(text: str, reason: str) -> None:
    with pytest.raises(SplitError, match=reason):
        parse_media_playlist(text, URL)
