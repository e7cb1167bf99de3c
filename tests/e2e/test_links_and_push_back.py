"""Link forms and the sites' push-backs, end to end through `mediabot run`.

YouTube and Instagram are answered by a yt-dlp plugin of the tests (`support/sites`):
extractors taking the same URLs as yt-dlp's, by the same patterns, that read recorded
answers instead of the site. `www.instagram.com` resolves to the loopback media server
(`support/sites/sitecustomize.py`), so a share link's redirect is followed through the
guard proxy for real.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.conversation import Conversation
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_run

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "extractors"
SITES = Path(__file__).resolve().parent.parent / "support" / "sites"
ADMIN_ID = 990_001
VIDEO = "dQw4w9WgXcQ"
REEL = "C8xYz12AbCd"
BOT_CHECK = (
    "Sign in to confirm you’re not a bot. Use --cookies-from-browser or --cookies for the "
    "authentication. See  https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-"
    "to-yt-dlp  for how to manually pass cookies"
)


def _fixture(name: str) -> dict[str, Any]:
    info: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return info


class Recordings:
    """What the plugin answers, and the keys it was asked for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text(
            json.dumps(
                {
                    f"youtube:{VIDEO}": {"info": _fixture("youtube_video")},
                    f"instagram:{REEL}": {"info": _fixture("instagram_reel")},
                    "youtube:BotCheck001": {"error": BOT_CHECK},
                    "youtube:BotCheck002": {"error": BOT_CHECK},
                }
            )
        )

    def asked(self) -> list[str]:
        log = self.path.with_name(self.path.name + ".log")
        return log.read_text().split() if log.exists() else []


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Recordings:
    return Recordings(tmp_path_factory.mktemp("sites") / "recordings.json")


@pytest.fixture(scope="module")
def mediabot(
    fake_telegram: FakeTelegram, recordings: Recordings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("links")
    python_path = os.pathsep.join(filter(None, [str(SITES), os.environ.get("PYTHONPATH")]))
    with mediabot_run(
        fake_telegram,
        data_dir,
        PYTHONPATH=python_path,
        MEDIABOT_TEST_RECORDINGS=str(recordings.path),
        MEDIABOT_TEST_HOSTS="www.instagram.com=127.0.0.1",
        ADMIN_IDS=str(ADMIN_ID),
    ) as process:
        yield process


@pytest.fixture
def chat(mediabot: MediabotProcess, fake_telegram: FakeTelegram) -> Conversation:
    return Conversation(fake_telegram)


def _since(chat: Conversation, since: int, *methods: str) -> list[ApiCall]:
    """This chat's successful calls of `methods` from call number `since` on."""
    wanted = {method.lower() for method in methods}
    return [
        call
        for call in chat.telegram.calls[since:]
        if chat.in_chat(call) and call.ok and call.method.lower() in wanted
    ]


def _offers(chat: Conversation, since: int) -> list[ApiCall]:
    return [
        call
        for call in _since(chat, since, "sendMessage", "editMessageText")
        if "inline_keyboard" in call.params.get("reply_markup", "")
    ]


def _share_link(server: MediaServer, token: str, post: str) -> str:
    """An Instagram share link, served by `server`, that redirects to Instagram's `post`."""
    server.add_route(
        f"/share/reel/{token}", status=302, headers={"Location": f"https://www.instagram.com{post}"}
    )
    return f"http://www.instagram.com:{server.base_url.rsplit(':', 1)[1]}/share/reel/{token}"


async def test_a_link_without_a_scheme_gets_its_offer(
    chat: Conversation, recordings: Recordings
) -> None:
    keyboard = await chat.keyboard(chat.say(f"look youtu.be/{VIDEO} 🔥"))
    assert [text.split(" ·")[0] for text in keyboard.buttons][:4] == [
        "144p",
        "360p",
        "720p",
        "1080p",
    ]
    assert f"youtube:{VIDEO}" in recordings.asked()


async def test_two_forms_of_one_video_in_a_message_get_one_lookup_and_one_offer(
    chat: Conversation, recordings: Recordings
) -> None:
    before = recordings.asked().count(f"youtube:{VIDEO}")
    since = chat.say(
        f"https://www.youtube.com/watch?v={VIDEO}&t=5,https://www.youtubekids.com/watch?v={VIDEO}"
        f" and youtu.be/{VIDEO}…"
    )
    await chat.keyboard(since)
    # One lookup at most: the forms share one, and an answer of the last minute is reused.
    assert recordings.asked().count(f"youtube:{VIDEO}") <= before + 1
    assert len(_since(chat, since, "sendMessage")) == 1  # one message: the offer
    assert len(_offers(chat, since)) == 1


async def test_a_share_link_is_followed_through_its_redirect_to_the_post(
    chat: Conversation, recordings: Recordings, media_requests: MediaServer
) -> None:
    share = _share_link(media_requests, "BAGz3Token", f"/reel/{REEL}/?igsh=MWQ1ZGUx")
    keyboard = await chat.keyboard(chat.say(share))
    assert any(text.startswith(("640p", "1280p")) for text in keyboard.buttons), keyboard.buttons
    assert media_requests.request_count("/share/reel/BAGz3Token") == 1
    assert recordings.asked()[-1] == f"instagram:{REEL}"


async def test_a_share_link_and_its_post_in_one_message_get_one_offer(
    chat: Conversation, media_requests: MediaServer, mediabot: MediabotProcess
) -> None:
    share = _share_link(media_requests, "BAGtwin", f"/reel/{REEL}/")
    since = chat.say(f"https://www.instagram.com/p/{REEL}/ {share}")
    await chat.keyboard(since)
    await asyncio.to_thread(mediabot.wait_for_log, f"is instagram:{REEL} again: one offer", 30)
    assert len(_offers(chat, since)) == 1


async def test_youtubes_bot_check_gets_its_message_and_the_admins_one_warning(
    chat: Conversation, fake_telegram: FakeTelegram
) -> None:
    first = await chat.reply(chat.say("https://youtu.be/BotCheck001"))
    second = await chat.reply(chat.say("https://www.youtube.com/watch?v=BotCheck002"))
    for reply in (first, second):
        assert "not a robot" in reply.params["text"]
        assert "inline_keyboard" not in reply.params.get("reply_markup", "")
    warnings = [
        call
        for call in fake_telegram.calls_of("sendMessage")
        if call.params.get("chat_id") == str(ADMIN_ID)
    ]
    assert len(warnings) == 1
    assert "YOUTUBE_COOKIES_FILE" in warnings[0].params["text"]
    assert "mediabot[pot]" in warnings[0].params["text"]
