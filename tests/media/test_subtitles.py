"""Subtitles fetched through the guard, converted from WebVTT to SRT, cut to a clip."""

from __future__ import annotations

from pathlib import Path

import pytest

from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.streams import StreamGuard
from mediabot.downloaders.subtitles import choose_subtitles
from mediabot.media.subtitles import Cue, SubtitleError, cut, fetch_srt, format_srt, parse_srt
from tests.support.media_server import MediaServer

VTT = """WEBVTT
Kind: captions
Language: {lang}

00:00:00.500 --> 00:00:02.000 align:start position:0%
{first}

00:05:00.000 --> 00:05:01.500
<c>{second}</c>

00:05:10.000 --> 00:05:12.250
{third}
second line

00:06:00.000 --> 00:06:02.000
{fourth}
"""
RUSSIAN = VTT.format(lang="ru", first="Привет", second="Начало", third="Середина", fourth="Конец")
ENGLISH = VTT.format(lang="en", first="Hello", second="Start", third="Middle", fourth="End")


def _guard() -> StreamGuard:
    options = DownloadOptions(allow_private_urls=False, allowed_private_networks=("127.0.0.1/32",))
    return StreamGuard.for_options(options)


def _serve(server: MediaServer, name: str, body: str) -> str:
    return server.add_route(f"/subs/{name}", body=body, headers={"Content-Type": "text/vtt"})


def _files(folder: Path) -> list[Path]:
    return sorted(folder.iterdir())


def _read(path: Path) -> str:
    return path.read_text("utf-8")


def _info(server: MediaServer, written: dict[str, str]) -> dict[str, object]:
    """An info dictionary as yt-dlp gives it, its subtitles served on loopback."""
    return {
        "id": "clip",
        "language": "en",
        "subtitles": {
            lang: [
                {"ext": "json3", "url": _serve(server, f"{lang}.json3", "{}")},
                {"ext": "vtt", "url": _serve(server, f"{lang}.vtt", body)},
            ]
            for lang, body in written.items()
        },
        "automatic_captions": {},
    }


@pytest.mark.parametrize(
    ("written", "expected"),
    [({"en": ENGLISH, "ru": RUSSIAN}, "Привет"), ({"en": ENGLISH}, "Hello")],
)
async def test_a_russian_speaker_gets_russian_subtitles_when_there_are_some(
    media_requests: MediaServer, tmp_path: Path, written: dict[str, str], expected: str
) -> None:
    track = choose_subtitles(_info(media_requests, written), "ru")
    assert track is not None
    media_requests.reset()
    path = tmp_path / "subs.srt"
    assert await fetch_srt(track.url, track.ext, path, headers=track.headers, url_check=_guard())
    text = _read(path)
    assert text.startswith(f"1\n00:00:00,500 --> 00:00:02,000\n{expected}\n")
    assert [cue.end_s for cue in parse_srt(text)] == [2.0, 301.5, 312.25, 362.0]
    assert [request.path for request in media_requests.requests] == [f"/subs/{track.language}.vtt"]
    assert [p.name for p in _files(tmp_path)] == ["subs.srt"]


async def test_subtitles_cut_to_a_clip_start_at_its_first_frame(
    media_requests: MediaServer, tmp_path: Path
) -> None:
    url = _serve(media_requests, "ru.vtt", RUSSIAN)
    path = tmp_path / "clip.srt"
    kept = await fetch_srt(
        url, "vtt", path, headers={}, url_check=_guard(), start_s=300.5, end_s=321.0
    )
    assert kept
    assert _read(path) == (
        "1\n00:00:00,000 --> 00:00:01,000\nНачало\n\n"
        "2\n00:00:09,500 --> 00:00:11,750\nСередина\nsecond line\n"
    )
    nothing = tmp_path / "none.srt"
    kept = await fetch_srt(
        url, "vtt", nothing, headers={}, url_check=_guard(), start_s=400.0, end_s=420.0
    )
    assert not kept and not nothing.exists()


async def test_srt_subtitles_are_read_as_they_are_and_cut_the_same_way(
    media_requests: MediaServer, tmp_path: Path
) -> None:
    srt = "1\n00:05:00,000 --> 00:05:01,500\nНачало\n\n2\n00:06:00,000 --> 00:06:02,000\nКонец\n"
    url = media_requests.add_route("/subs/ru.srt", body=srt, headers={"Content-Type": "text/plain"})
    path = tmp_path / "subs.srt"
    assert await fetch_srt(url, "srt", path, headers={}, url_check=_guard(), start_s=299.0)
    assert _read(path) == (
        "1\n00:00:01,000 --> 00:00:02,500\nНачало\n\n2\n00:01:01,000 --> 00:01:03,000\nКонец\n"
    )
    assert [p.name for p in _files(tmp_path)] == ["subs.srt"]


async def test_subtitles_at_a_private_address_are_refused(
    trap: MediaServer, media_requests: MediaServer, tmp_path: Path
) -> None:
    url = _serve(media_requests, "ru.vtt", RUSSIAN).replace("127.0.0.1", "127.0.0.2")
    with pytest.raises(SubtitleError, match="refused"):
        await fetch_srt(url, "vtt", tmp_path / "subs.srt", headers={}, url_check=_guard())
    assert trap.requests == []
    assert _files(tmp_path) == []


async def test_a_missing_file_is_an_error_and_a_page_holds_no_subtitles(
    media_requests: MediaServer, tmp_path: Path
) -> None:
    missing = media_requests.add_route("/subs/gone.vtt", status=404, body="not found")
    with pytest.raises(SubtitleError, match="404"):
        await fetch_srt(missing, "vtt", tmp_path / "subs.srt", headers={}, url_check=_guard())
    page = _serve(media_requests, "page.vtt", "<html>not found</html>")
    path = tmp_path / "subs.srt"
    assert not await fetch_srt(page, "vtt", path, headers={}, url_check=_guard())
    assert _files(tmp_path) == []
    with pytest.raises(SubtitleError, match="json3"):
        await fetch_srt(page, "json3", tmp_path / "subs.srt", headers={}, url_check=None)


def test_cues_are_clamped_to_the_clip_and_numbered_again() -> None:
    cues = [Cue(1.0, 4.0, "a"), Cue(5.0, 6.0, "b"), Cue(9.0, 12.0, "c"), Cue(12.0, 13.0, "d")]
    assert cut(cues, 3.0, 10.0) == [Cue(0.0, 1.0, "a"), Cue(2.0, 3.0, "b"), Cue(6.0, 7.0, "c")]
    assert cut(cues, 12.0, None) == [Cue(0.0, 1.0, "d")]
    assert format_srt([Cue(3661.5, 3662.0, "x")]) == "1\n01:01:01,500 --> 01:01:02,000\nx\n"
    assert parse_srt(format_srt(cues)) == cues
