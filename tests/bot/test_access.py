"""Access: allowlists, bans and admins' commands, and the hourly limit of presses."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from mediabot.bot import texts
from mediabot.db.base import utcnow
from tests.bot.conftest import BotBench
from tests.support.fake_telegram import ApiCall

ADMIN = 830_000_001
FRIEND = 830_000_002
STRANGER = 830_000_003
LIMIT = 3


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        "admin_ids": (ADMIN,),
        "allowed_user_ids": (FRIEND,),
        "rate_limit_per_hour": LIMIT,
        "max_active_requests": LIMIT + 5,
    }


def _texts(bench: BotBench, chat_id: int) -> list[str]:
    return [
        call.params["text"]
        for call in bench.telegram.calls_of("sendMessage", "editMessageText")
        if call.params.get("chat_id") == str(chat_id)
    ]


def _keyboard(bench: BotBench, chat_id: int) -> tuple[int, dict[str, str]]:
    call = [
        c
        for c in bench.telegram.calls_of("sendMessage", "editMessageText")
        if c.params.get("chat_id") == str(chat_id)
        and "inline_keyboard" in c.params.get("reply_markup", "")
    ][-1]
    markup = json.loads(call.params["reply_markup"])
    buttons = {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}
    return int(call.result["message_id"]), buttons


async def _press(bench: BotBench, chat_id: int, message_id: int, data: str) -> ApiCall:
    mark = len(bench.telegram.calls)
    await bench.press(chat_id, message_id, data)
    [answer] = [c for c in bench.telegram.calls[mark:] if c.method == "answerCallbackQuery"]
    return answer


async def test_a_stranger_is_told_once_and_a_friend_is_served(bench: BotBench) -> None:
    await bench.say(STRANGER, "https://example.com/a")
    await bench.say(STRANGER, "https://example.com/b")
    await bench.say(STRANGER, "/start")
    assert _texts(bench, STRANGER) == [texts.not_allowed()]
    await bench.say(FRIEND, "https://example.com/a")
    assert any("Choose" in text for text in _texts(bench, FRIEND))


async def test_admin_commands_do_nothing_for_others(bench: BotBench) -> None:
    await bench.say(FRIEND, "/stats")
    await bench.say(FRIEND, f"/ban {ADMIN}")
    assert _texts(bench, FRIEND) == []


async def test_a_banned_user_gets_one_line_until_unbanned(bench: BotBench) -> None:
    await bench.say(FRIEND, "/start")
    await bench.say(ADMIN, f"/ban {FRIEND}")
    assert _texts(bench, ADMIN)[-1] == texts.ban_done(FRIEND, True)
    before = len(_texts(bench, FRIEND))
    await bench.say(FRIEND, "https://example.com/a")
    await bench.say(FRIEND, "https://example.com/b")
    assert _texts(bench, FRIEND)[before:] == [texts.banned()]
    await bench.say(ADMIN, f"/unban {FRIEND}")
    assert _texts(bench, ADMIN)[-1] == texts.ban_done(FRIEND, False)
    await bench.say(FRIEND, "https://example.com/c")
    assert any("Choose" in text for text in _texts(bench, FRIEND)[before + 1 :])
    await bench.say(ADMIN, "/ban 123")
    assert _texts(bench, ADMIN)[-1] == texts.unknown_user(123)
    await bench.say(ADMIN, "/ban")
    assert _texts(bench, ADMIN)[-1] == texts.ban_usage("ban")
    await bench.say(ADMIN, "/ban 99999999999999999999999")  # past any 64-bit id
    assert _texts(bench, ADMIN)[-1] == texts.ban_usage("ban")


async def test_stats_for_an_admin(bench: BotBench) -> None:
    await bench.say(ADMIN, "https://example.com/a")
    await bench.say(ADMIN, "/stats")
    report = _texts(bench, ADMIN)[-1]
    assert report.startswith("<b>Statistics</b>")
    assert "Users: 1 · active 24 h: 1 · 7 days: 1" in report
    assert "offered 1" in report


async def test_the_hourly_limit_says_when_to_try_again(bench: BotBench) -> None:
    for n in range(LIMIT):
        await bench.say(FRIEND, f"https://example.com/{n}")
        message_id, buttons = _keyboard(bench, FRIEND)
        answer = await _press(bench, FRIEND, message_id, buttons["720p · 3.0 MB"])
        assert answer.params.get("show_alert") != "true"
    await bench.say(FRIEND, "https://example.com/last")
    message_id, buttons = _keyboard(bench, FRIEND)
    answer = await _press(bench, FRIEND, message_id, buttons["720p · 3.0 MB"])
    assert answer.params["show_alert"] == "true"
    retry = utcnow() + timedelta(hours=1)
    assert answer.params["text"] == texts.hourly_limit(LIMIT, 60, f"{retry:%H:%M}")
    assert "Queued" not in _texts(bench, FRIEND)[-1]  # the offer stays, for later
