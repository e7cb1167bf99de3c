"""End to end through the fake Bot API (`mediabot run`): a group where chatter and other
bots' commands get nothing, a link gets buttons in its forum topic and only its sender may
press them; the allowlist, a ban, the hourly limit and /stats for an admin."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest

from mediabot.bot import texts
from tests.support.conversation import buttons_of
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media import MediaSources
from tests.support.processes import MediabotProcess, mediabot_run

GROUP = -100_950_000_001
TOPIC = 12
ADMIN = 950_001
ANN = 950_002
BOB = 950_003
CAROL = 950_004
STRANGER = 950_005
LIMIT = 2


@pytest.fixture(scope="module")
def bot(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MediabotProcess]:
    data_dir = tmp_path_factory.mktemp("groups")
    with mediabot_run(
        fake_telegram,
        data_dir,
        ADMIN_IDS=str(ADMIN),
        ALLOWED_USER_IDS=f"{ANN},{BOB},{CAROL}",
        ALLOWED_CHAT_IDS=str(GROUP),
        RATE_LIMIT_PER_HOUR=str(LIMIT),
        MAX_ACTIVE_REQUESTS="10",
    ) as process:
        yield process


def _in(chat_id: int, *methods: str) -> object:
    return lambda call: call.params.get("chat_id") == str(chat_id) and call.method in methods


async def _keyboard(telegram: FakeTelegram, chat_id: int, since: int) -> ApiCall:
    return await telegram.wait_for(
        lambda call: (
            call.params.get("chat_id") == str(chat_id)
            and call.method in ("sendMessage", "editMessageText")
            and call.ok
            and "inline_keyboard" in call.params.get("reply_markup", "")
            and "Choose" in call.params.get("text", "")
        ),
        30,
        since=since,
    )


async def _answer(telegram: FakeTelegram, since: int) -> ApiCall:
    return await telegram.wait_for(lambda c: c.method == "answerCallbackQuery", 30, since=since)


async def _text(telegram: FakeTelegram, chat_id: int, since: int) -> str:
    call = await telegram.wait_for(
        lambda c: c.params.get("chat_id") == str(chat_id) and c.method == "sendMessage",
        30,
        since=since,
    )
    return call.params["text"]


async def test_a_group_gets_answers_only_for_what_is_meant_for_the_bot(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    telegram = fake_telegram
    quiet = len(telegram.calls)
    telegram.inject_message(GROUP, "hello", user_id=ANN, chat_type="supergroup")
    telegram.inject_message(GROUP, "/start@other_bot", user_id=ANN, chat_type="supergroup")
    since = len(telegram.calls)
    link = telegram.inject_message(
        GROUP,
        f"/dl {media.progressive_mp4}",
        user_id=ANN,
        chat_type="supergroup",
        message_thread_id=TOPIC,
    )["message"]
    keyboard = await _keyboard(telegram, GROUP, since)
    sent_in_group = [c for c in telegram.calls[quiet:] if c.params.get("chat_id") == str(GROUP)]
    # The first thing the bot said in the group: the link's answer (a placeholder first only
    # when the lookup took over a second), in the topic, replying to the link.
    status = sent_in_group[0]
    assert status.method == "sendMessage"
    assert status.params["message_thread_id"] == str(TOPIC)
    assert json.loads(status.params["reply_parameters"])["message_id"] == link["message_id"]
    message_id = int(keyboard.result["message_id"])
    buttons = buttons_of(keyboard)

    # Bob presses Ann's buttons: an alert, and nothing changes.
    before = len(telegram.calls)
    telegram.inject_callback(GROUP, message_id, buttons["✖ Cancel"], user_id=BOB)
    answer = await _answer(telegram, before)
    assert answer.params["text"] == texts.only_the_sender()
    assert answer.params["show_alert"] == "true"
    assert not [c for c in telegram.calls[before:] if c.method == "editMessageText"]

    # Ann presses: the file replies to her link, in the topic.
    before = len(telegram.calls)
    audio = next(data for text, data in buttons.items() if text.startswith("🎵"))
    telegram.inject_callback(GROUP, message_id, audio, user_id=ANN)
    sent = await telegram.wait_for(
        lambda c: c.params.get("chat_id") == str(GROUP) and c.method == "sendAudio" and c.ok,
        60,
        since=before,
    )
    assert json.loads(sent.params["reply_parameters"])["message_id"] == link["message_id"]
    assert sent.result["reply_to_message"]["message_thread_id"] == TOPIC
    assert sent.params["message_thread_id"] == str(TOPIC)  # there even if the link goes


async def test_a_stranger_is_told_once(bot: MediabotProcess, fake_telegram: FakeTelegram) -> None:
    since = len(fake_telegram.calls)
    fake_telegram.inject_message(STRANGER, "https://example.com/a")
    assert await _text(fake_telegram, STRANGER, since) == texts.not_allowed()
    fake_telegram.inject_message(STRANGER, "/start")
    fake_telegram.inject_message(ADMIN, "/start")  # a marker: the admin is answered after it
    await _text(fake_telegram, ADMIN, since)
    told = [c for c in fake_telegram.calls[since:] if c.params.get("chat_id") == str(STRANGER)]
    assert len(told) == 1


async def test_a_ban_and_the_hourly_limit(
    bot: MediabotProcess, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    telegram = fake_telegram
    since = len(telegram.calls)
    telegram.inject_message(BOB, "/start")
    await _text(telegram, BOB, since)  # answered before the ban, not racing it
    since = len(telegram.calls)
    telegram.inject_message(ADMIN, f"/ban {BOB}")
    assert await _text(telegram, ADMIN, since) == texts.ban_done(BOB, True)
    since = len(telegram.calls)
    telegram.inject_message(BOB, media.progressive_mp4)
    assert await _text(telegram, BOB, since) == texts.banned()

    for n in range(LIMIT + 1):
        since = len(telegram.calls)
        telegram.inject_message(CAROL, f"{media.progressive_mp4}?n={n}")
        keyboard = await _keyboard(telegram, CAROL, since)
        buttons = buttons_of(keyboard)
        audio = next(data for text, data in buttons.items() if text.startswith("🎵"))
        before = len(telegram.calls)
        telegram.inject_callback(CAROL, int(keyboard.result["message_id"]), audio)
        answer = await _answer(telegram, before)
    assert answer.params["show_alert"] == "true"
    assert answer.params["text"].startswith(f"You have reached {LIMIT} downloads an hour.")


async def test_stats_match_what_happened(bot: MediabotProcess, fake_telegram: FakeTelegram) -> None:
    since = 0
    for _ in range(LIMIT):  # both of Carol's files are out (the states are final)
        first = await fake_telegram.wait_for(
            lambda c: c.params.get("chat_id") == str(CAROL) and c.method == "sendAudio" and c.ok,
            60,
            since=since,
        )
        since = fake_telegram.calls.index(first) + 1
    # Each delivery is recorded right after Telegram accepts it, and logged once recorded:
    # Ann's and Carol's two.
    await asyncio.to_thread(bot.wait_for_log, ": delivered ", 30, count=3)
    since = len(fake_telegram.calls)
    fake_telegram.inject_message(ADMIN, "/stats")
    report = await _text(fake_telegram, ADMIN, since)
    # Ann, Bob, Carol, the stranger and the admin wrote; only Ann and Carol were served links:
    # Ann's one (delivered) and Carol's three (two delivered, the third refused by the limit).
    assert "Users: 5 · active 24 h: 2 · 7 days: 2" in report
    assert "By provider: Other sites 4" in report
    assert "By state: delivered 3 · offered 1" in report
    assert "Most active" in report and f"<code>{CAROL}</code>) — {LIMIT}" in report
