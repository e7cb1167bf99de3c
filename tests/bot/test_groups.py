"""Groups: the bot answers only what is meant for it, in the link's forum topic, and only
the person who sent a link may press its buttons. Through the real dispatcher."""

from __future__ import annotations

import json
from typing import Any

from mediabot.bot import texts
from tests.bot.conftest import BotBench
from tests.support.fake_telegram import ApiCall

GROUP = -100_900_000_001
ANN = 4101
BOB = 4102
TOPIC = 77


async def _say(bench: BotBench, text: str, **extra: Any) -> dict[str, Any]:
    extra.setdefault("user_id", ANN)
    update = bench.telegram.inject_message(GROUP, text, chat_type="supergroup", **extra)
    await bench.dispatcher.feed_raw_update(bench.bot, update)
    await bench.lane.settled()
    return dict(update["message"])


async def _press(bench: BotBench, message_id: int, data: str, user_id: int) -> ApiCall:
    mark = len(bench.telegram.calls)
    update = bench.telegram.inject_callback(GROUP, message_id, data, user_id=user_id)
    await bench.dispatcher.feed_raw_update(bench.bot, update)
    [answer] = [c for c in bench.telegram.calls[mark:] if c.method == "answerCallbackQuery"]
    return answer


def _sent(bench: BotBench) -> list[ApiCall]:
    return [
        call
        for call in bench.telegram.calls_of("sendMessage", "editMessageText")
        if call.params.get("chat_id") == str(GROUP)
    ]


def _keyboard(bench: BotBench) -> tuple[int, dict[str, str]]:
    call = [c for c in _sent(bench) if "inline_keyboard" in c.params.get("reply_markup", "")][-1]
    markup = json.loads(call.params["reply_markup"])
    buttons = {b["text"]: b["callback_data"] for row in markup["inline_keyboard"] for b in row}
    return int(call.result["message_id"]), buttons


async def test_chatter_and_other_bots_commands_get_nothing(bench: BotBench) -> None:
    await _say(bench, "hello")
    await _say(bench, "/start@other_bot")
    await _say(bench, "/dl@other_bot https://example.com/v")
    await _say(bench, "/help@other_bot")
    assert _sent(bench) == []


async def test_start_in_a_group_is_one_line_and_own_commands_work(bench: BotBench) -> None:
    await _say(bench, f"/start@{bench.telegram.username}")
    [start] = _sent(bench)
    assert start.params["text"] == texts.group_start()
    await _say(bench, "/dl")
    assert _sent(bench)[-1].params["text"] == texts.no_link()


async def test_a_reply_to_the_bot_gets_the_hint(bench: BotBench) -> None:
    await _say(bench, "/start")
    bot_message = _sent(bench)[0].result["message_id"]
    await _say(bench, "what now?", reply_to_message_id=bot_message)
    assert _sent(bench)[-1].params["text"] == texts.no_link()


async def test_a_link_gets_buttons_replying_in_its_topic(bench: BotBench) -> None:
    link = await _say(bench, "/dl https://example.com/v", message_thread_id=TOPIC)
    status = _sent(bench)[0]  # a quick lookup: the keyboard is the one message
    assert status.method == "sendMessage"
    assert status.params["message_thread_id"] == str(TOPIC)
    assert json.loads(status.params["reply_parameters"])["message_id"] == link["message_id"]
    message_id, buttons = _keyboard(bench)
    assert message_id == status.result["message_id"]
    assert "720p · 3.0 MB" in buttons


async def test_a_strangers_press_changes_nothing(bench: BotBench) -> None:
    await _say(bench, "https://example.com/v")
    message_id, buttons = _keyboard(bench)
    before = len(_sent(bench))
    for data in buttons.values():
        answer = await _press(bench, message_id, data, user_id=BOB)
        assert answer.params["text"] == texts.only_the_sender()
        assert answer.params["show_alert"] == "true"
    assert len(_sent(bench)) == before
    answer = await _press(bench, message_id, buttons[next(iter(buttons))], user_id=ANN)
    assert answer.params.get("show_alert") != "true"
    assert "Queued" in _sent(bench)[-1].params["text"]
