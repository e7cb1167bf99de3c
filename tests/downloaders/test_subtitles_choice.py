"""Which subtitles go with a video: the user's language, else the original, never a
machine translation. Info dictionaries shaped as yt-dlp gives them for YouTube."""

from __future__ import annotations

from typing import Any

import pytest

from mediabot.downloaders.subtitles import choose_subtitles, has_subtitles

TIMEDTEXT = "https://www.youtube.com/api/timedtext?v=dQw4w9WgXcQ&lang={lang}"


def _formats(lang: str, *, translated_to: str | None = None) -> list[dict[str, Any]]:
    """A language's formats as yt-dlp lists YouTube's (no SRT; WebVTT among them)."""
    url = TIMEDTEXT.format(lang=lang) + (f"&tlang={translated_to}" if translated_to else "")
    return [
        {"ext": ext, "url": f"{url}&fmt={ext}", "name": lang}
        for ext in ("json3", "srv1", "srv2", "srv3", "ttml", "vtt")
    ]


def _info(
    written: tuple[str, ...] = (),
    recognised: str | None = None,
    language: str | None = "en",
) -> dict[str, Any]:
    """A video with subtitles written in `written`, and speech recognised in `recognised`
    machine-translated to English, Russian and German."""
    automatic: dict[str, Any] = {}
    if recognised is not None:
        automatic[f"{recognised}-orig"] = _formats(recognised)
        for target in ("en", "ru", "de"):
            automatic[target] = _formats(recognised, translated_to=target)
    return {
        "id": "dQw4w9WgXcQ",
        "language": language,
        "subtitles": {lang: _formats(lang) for lang in written},
        "automatic_captions": automatic,
        "http_headers": {"User-Agent": "Mozilla/5.0"},
    }


@pytest.mark.parametrize(
    ("info", "user", "language", "automatic"),
    [
        (_info(("en", "ru")), "ru", "ru", False),
        (_info(("en", "ru")), "ru-RU", "ru", False),
        (_info(("en", "ru")), "en", "en", False),
        (_info(("en", "de"), language="de"), "ru", "de", False),  # the original
        (_info(("de", "en"), language=None), "ru", "de", False),  # the first written
        (_info(("en",), recognised="en"), "ru", "en", False),  # written beats recognised
        (_info(recognised="ru", language="ru"), "ru", "ru-orig", True),
        (_info(recognised="en"), "ru", "en-orig", True),  # not the Russian translation
        (_info(recognised="en"), None, "en-orig", True),
    ],
)
def test_the_users_language_else_the_original(
    info: dict[str, Any], user: str | None, language: str, automatic: bool
) -> None:
    track = choose_subtitles(info, user)
    assert track is not None
    assert (track.language, track.automatic, track.ext) == (language, automatic, "vtt")
    assert "tlang" not in track.url and track.url.endswith("fmt=vtt")
    assert track.headers == {"User-Agent": "Mozilla/5.0"}


def test_srt_is_preferred_and_unreadable_formats_or_chat_are_no_subtitles() -> None:
    info = _info()
    info["subtitles"] = {
        "en": [
            {"ext": "vtt", "url": "https://example.com/en.vtt"},
            {"ext": "srt", "url": "https://example.com/en.srt"},
        ]
    }
    track = choose_subtitles(info, "ru")
    assert track is not None and track.ext == "srt"
    assert not has_subtitles(_info())
    unreadable = _info()
    unreadable["subtitles"] = {
        "en": [{"ext": "json3", "url": "https://example.com/en.json3"}],
        "live_chat": [{"ext": "vtt", "url": "https://example.com/chat"}],
    }
    assert choose_subtitles(unreadable, "en") is None
    assert not has_subtitles(unreadable)
    assert has_subtitles(_info(recognised="en"))
    assert not has_subtitles({"id": "x", "subtitles": None})
