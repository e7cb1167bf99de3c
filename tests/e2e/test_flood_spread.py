"""Flood control end to end: 429s in three chats hold the whole bot only as long as the
short waits among them, never for one chat's long wait (`mediabot run`, its budget in
memory on SQLite and in the database on PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.conversation import Conversation
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media import MediaSources
from tests.support.processes import MediabotProcess, mediabot_run

LONG_WAIT_S = 200
FIRST_REPLY_S = 10
"""The bystander's first reply comes within this (held back about 1 s at most)."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(
    request: pytest.FixtureRequest,
    fake_telegram: FakeTelegram,
    tmp_path_factory: pytest.TempPathFactory,
    make_pg_database: Callable[[], str],
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp(f"flood-spread-{request.param}")
    database = {}
    if request.param == "postgresql":
        database["DATABASE_URL"] = make_pg_database().replace("+asyncpg", "")
    with mediabot_run(fake_telegram, data_dir, **database) as process:
        yield process


def _refused(chat: Conversation) -> Callable[[ApiCall], bool]:
    return lambda call: chat.in_chat(call) and call.status == 429


async def test_one_long_wait_among_three_flooded_chats_does_not_hold_a_fourth_user(
    running: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    short, other_short, long = (Conversation(fake_telegram) for _ in range(3))
    for chat in (short, other_short):
        fake_telegram.fail_next("sendMessage", retry_after=1, chat_id=chat.chat_id)
    fake_telegram.fail_next("sendMessage", retry_after=LONG_WAIT_S, chat_id=long.chat_id)
    since = short.say(media.progressive_mp4)
    other_short.say(media.progressive_mp4)
    for chat in (short, other_short):
        await fake_telegram.wait_for(_refused(chat), since=since)
    # The long wait comes third: the one that makes three flooded chats.
    await fake_telegram.wait_for(_refused(long), since=long.say(media.progressive_mp4))
    flooded = time.monotonic()

    bystander = Conversation(fake_telegram)
    asked = bystander.say(media.progressive_mp4)
    await fake_telegram.wait_for(
        lambda call: bystander.in_chat(call) and call.method == "sendMessage" and call.ok,
        FIRST_REPLY_S,
        since=asked,
    )
    assert time.monotonic() - flooded < FIRST_REPLY_S
    keyboard = await bystander.keyboard(asked)
    await bystander.media(bystander.press(keyboard, keyboard.data("360p")), within=60)
    for chat in (short, other_short):  # their 1 s waits sat out
        assert (await chat.keyboard(since)).buttons

    assert time.monotonic() - flooded < LONG_WAIT_S / 2
    assert not any(call.ok for call in long.calls("sendMessage")), "the long wait was cut short"
