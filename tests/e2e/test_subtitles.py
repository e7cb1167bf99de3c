"""Subtitles end to end on `mediabot run`: a blog post whose `<video>` has `<track>`
subtitles (yt-dlp's generic extractor lists them) offers "💬 subtitles"; a press sends
them as an `.srt` document: Russian to a Russian-speaking user when the page has them,
else the original; cut to the clip on a clip's offer."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.pages import blog_post
from tests.support.processes import MediabotProcess, mediabot_run

_VTT = {"Content-Type": "text/vtt; charset=utf-8"}


def _cues(*lines: tuple[str, str, str]) -> str:
    return "WEBVTT\n\n" + "\n".join(f"{start} --> {end}\n{text}\n" for start, end, text in lines)


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("subtitles")
    with mediabot_run(fake_telegram, data_dir) as process:
        yield process


def _page(server: MediaServer, src: str, languages: tuple[str, ...]) -> str:
    """A blog post playing `src` with a subtitle track per language; its URL."""
    folder = f"/blog/{uuid.uuid4().hex[:8]}"
    tracks = []
    for language in languages:
        text = _cues(
            ("00:00:01.000", "00:00:03.000", f"first line {language}"),
            ("00:05:05.000", "00:05:07.000", f"clip line {language}"),
        )
        server.add_route(f"{folder}/{language}.vtt", body=text.encode(), headers=_VTT)
        tracks.append(f'<track kind="subtitles" srclang="{language}" src="{language}.vtt">')
    return blog_post(
        server, f"{folder}/post.html", f'<video controls src="{src}">{"".join(tracks)}</video>'
    )


async def _subtitles(
    chat: Conversation, fake_telegram: FakeTelegram, text: str, button: str
) -> tuple[str, str]:
    """Send `text`, press `button` of its offer: the `.srt` sent, and its caption."""
    keyboard = await chat.keyboard(chat.say(text))
    since = chat.press(keyboard, keyboard.data(button))
    sent = await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendDocument" and call.ok,
        60,
        since=since,
    )
    path = fake_telegram.uploaded_path(sent.result["document"]["file_id"])
    assert sent.result["document"]["file_name"].endswith(".srt")
    return path.read_text(encoding="utf-8"), sent.params.get("caption", "")


async def test_a_russian_speaker_gets_the_russian_subtitles(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    url = _page(media_requests, media.clip["mp4"], ("en", "ru"))
    chat = Conversation(fake_telegram)
    fake_telegram.speaks(chat.chat_id, "ru")
    srt, caption = await _subtitles(chat, fake_telegram, url, "💬")
    assert "first line ru" in srt and "00:00:01,000 --> 00:00:03,000" in srt
    assert "ru" in caption


async def test_without_the_users_language_the_original_is_sent(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    url = _page(media_requests, media.clip["mp4"], ("en",))
    chat = Conversation(fake_telegram)
    fake_telegram.speaks(chat.chat_id, "ru")
    srt, _ = await _subtitles(chat, fake_telegram, url, "💬")
    assert "first line en" in srt


async def test_a_clips_subtitles_are_cut_to_it(
    bot: MediabotProcess,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    url = _page(media_requests, media.clip["mp4"], ("en",))
    chat = Conversation(fake_telegram)
    srt, _ = await _subtitles(chat, fake_telegram, f"{url} 5:01-5:21", "✂ 💬")
    assert "clip line en" in srt and "first line" not in srt
    assert "00:00:04,000 --> 00:00:06,000" in srt


async def test_a_video_without_subtitles_offers_none(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.clip["mp4"]))
    assert not any("💬" in text for text in keyboard.buttons)
