"""Lists of links and corrected links end to end on `mediabot run`: a `.txt` of links is
answered like a message of links, and an edited message is answered for its new links,
once, and not at all when its links stayed the same."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.conversation import Conversation, Keyboard, buttons_of
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.processes import MediabotProcess, mediabot_run


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("lists")
    with mediabot_run(fake_telegram, data_dir) as process:
        yield process


async def _keyboards(chat: Conversation, since: int, count: int) -> list[Keyboard]:
    """The next `count` distinct messages with buttons in the chat."""
    seen: dict[int, Keyboard] = {}
    while len(seen) < count:
        call = await chat.telegram.wait_for(
            lambda call: (
                chat.in_chat(call)
                and call.ok
                and call.method in ("sendMessage", "editMessageText")
                and "inline_keyboard" in call.params.get("reply_markup", "")
                and int(call.result["message_id"]) not in seen
            ),
            60,
            since=since,
        )
        message_id = int(call.result["message_id"])
        seen[message_id] = Keyboard(message_id, buttons_of(call))
    return list(seen.values())


async def test_a_txt_of_three_links_offers_three(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    listed = tmp_path / "links.txt"
    links = [media.dash_mpd, media.hls_master, media.clip["mp4"]]
    listed.write_text("my list:\n" + "\n".join(links) + "\n", encoding="utf-8")
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    fake_telegram.inject_document(chat.chat_id, listed, mime_type="text/plain")
    keyboards = await _keyboards(chat, since, 3)
    assert all("🎵 Audio only" in "".join(keyboard.buttons) for keyboard in keyboards)
    await asyncio.to_thread(bot.wait_for_log, "3 link(s) asked for")


async def test_a_list_over_the_limit_says_some_were_left_out(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources, tmp_path: Path
) -> None:
    listed = tmp_path / "many.txt"
    links = [f"{media.dash_mpd}?copy={number}" for number in range(7)]
    listed.write_bytes("\n".join(links).encode("latin-1"))
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    fake_telegram.inject_document(chat.chat_id, listed, mime_type="application/octet-stream")
    said = await chat.final_text(since, "links per message", within=30)
    assert "up to 5 links" in said.params["text"]


async def test_a_file_without_links_gets_a_plain_answer(
    bot: MediabotProcess, fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    listed = tmp_path / "notes.txt"
    listed.write_text("nothing here but words\n", encoding="utf-8")
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    fake_telegram.inject_document(chat.chat_id, listed)
    said = await chat.final_text(since, "no links in this file", within=30)
    assert said.method == "sendMessage"


async def test_an_edited_link_is_answered_once_and_an_unchanged_edit_not_at_all(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    since = len(fake_telegram.calls)
    sent = fake_telegram.inject_message(chat.chat_id, media.dash_mpd)
    message_id = sent["message"]["message_id"]
    [first] = await _keyboards(chat, since, 1)
    unchanged = f"message {message_id} edited, its links unchanged"

    fake_telegram.edit_user_message(chat.chat_id, message_id, f"this one: {media.dash_mpd}")
    await asyncio.to_thread(bot.wait_for_log, unchanged, 30)

    since = len(fake_telegram.calls)
    fake_telegram.edit_user_message(chat.chat_id, message_id, media.hls_master)
    [corrected] = await _keyboards(chat, since, 1)
    assert corrected.message_id != first.message_id

    fake_telegram.edit_user_message(chat.chat_id, message_id, f"{media.hls_master} !")
    await asyncio.to_thread(bot.wait_for_log, unchanged, 30, count=2)
    keyboards = [
        call
        for call in chat.calls("sendMessage", "editMessageText")
        if "inline_keyboard" in call.params.get("reply_markup", "")
    ]
    assert len(keyboards) == 2  # the first link's and the corrected one's, nothing more
