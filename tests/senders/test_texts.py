"""Captions and upload names made from outside data: clean, escaped, within the limits."""

from __future__ import annotations

import shutil
from pathlib import Path

from aiogram import Bot

from mediabot.domain.enums import MediaKind
from mediabot.domain.media import DownloadResult
from mediabot.senders.base import CAPTION_LIMIT, SendTarget
from mediabot.senders.registry import make_sender
from mediabot.telegram.texts import utf16_length, visible_length
from tests.senders.results import item_of, result_of
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources

HOSTILE_TITLE = "\u202eevil\x1b[31m re\u200bd\ufeff\x1b[0m <i>tit\u200dle</i>\u200c"
LIMIT = 50 * 1024 * 1024


def _result(path: Path, kind: MediaKind, title: str, url: str) -> DownloadResult:
    return result_of(
        item_of(path, kind),
        kind=kind,
        title=title,
        source_url=url,
        uploader="\u202eUp\u200bloader\x1b[1m",
    )


async def test_a_hostile_title_gives_a_clean_caption_and_file_name(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    # the downloader named the file after the title, as yt-dlp does
    video = tmp_path / f"{HOSTILE_TITLE.replace('/', '_')}.mp4"
    shutil.copyfile(media.path(media.progressive_mp4), video)
    result = _result(video, MediaKind.VIDEO, HOSTILE_TITLE, "https://example.com/v")
    target = SendTarget.for_media(41, result.title, result.source_url)
    await make_sender(bot, result, target, limit_bytes=LIMIT).send()

    (call,) = telegram.calls_of("sendVideo")
    assert call.ok, call.result
    assert (
        call.params["caption"] == "<b>evil red &lt;i&gt;title&lt;/i&gt;</b>\nhttps://example.com/v"
    )
    uploaded = call.file("video")
    assert uploaded is not None
    assert uploaded.filename == "evil red _i_title__i_.mp4"
    thumbnail = call.file("thumbnail")
    assert thumbnail is not None
    assert "\u202e" not in thumbnail.filename and "\x1b" not in thumbnail.filename
    assert "\u200b" not in thumbnail.filename and "\ufeff" not in thumbnail.filename


async def test_an_audio_tracks_title_and_performer_are_plain(
    bot: Bot, telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    audio = tmp_path / "track.m4a"
    shutil.copyfile(media.path(media.progressive_mp4), audio)
    result = _result(audio, MediaKind.AUDIO, HOSTILE_TITLE, "https://example.com/a")
    target = SendTarget.for_media(42, result.title, result.source_url)
    await make_sender(bot, result, target, limit_bytes=LIMIT).send()
    (call,) = telegram.calls_of("sendAudio")
    assert call.ok, call.result
    assert call.params["title"] == "evil red <i>title</i>"
    assert call.params["performer"] == "Uploader"


def test_a_huge_title_and_url_fit_a_caption_with_room_for_a_part_line() -> None:
    target = SendTarget.for_media(1, "t" * 5000, "https://example.com/" + "u&" * 3000)
    assert visible_length(target.caption) <= CAPTION_LIMIT - 39
    with_part = target.caption_with("Part 12/12")
    assert visible_length(with_part) <= CAPTION_LIMIT
    assert with_part.endswith("\nPart 12/12")
    assert "&amp;" in target.caption and not target.caption.endswith("&")


def test_a_short_title_survives_a_huge_url() -> None:
    target = SendTarget.for_media(1, "Short", "https://example.com/" + "u" * 4000)
    assert target.caption.startswith("<b>Short</b>\nhttps://example.com/uuu")
    assert utf16_length(target.caption) < 1100
