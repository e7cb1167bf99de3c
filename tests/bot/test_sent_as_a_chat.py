"""Messages sent on behalf of a chat (an anonymous admin, a channel, a linked channel's
forwarded post) have no person behind them: no handler serves them, no user is recorded,
and whoever sent one is told to send it as themselves. Through the real dispatcher."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from mediabot.bot import texts
from mediabot.db.models import RequestRow, User
from tests.bot.conftest import BotBench
from tests.support.fake_telegram import ApiCall

GROUP = -100_900_000_777
CHANNEL = -100_900_000_778
LINK = "https://example.com/clip.mp4"
_GROUP_CHAT = {"id": GROUP, "type": "supergroup", "title": "Test group"}
_CHANNEL_CHAT = {"id": CHANNEL, "type": "channel", "title": "A channel"}
_ANONYMOUS_ADMIN_BOT = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
_CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
_TELEGRAM = {"id": 777000, "is_bot": False, "first_name": "Telegram"}

SENT_AS_A_CHAT = {
    "anonymous admin, older client (no from)": {"from": None, "sender_chat": _GROUP_CHAT},
    "anonymous admin": {"from": _ANONYMOUS_ADMIN_BOT, "sender_chat": _GROUP_CHAT},
    "as a channel": {"from": _CHANNEL_BOT, "sender_chat": _CHANNEL_CHAT},
    "no from, no sender chat": {"from": None},
}


async def _say(bench: BotBench, text: str, fields: dict[str, Any]) -> list[ApiCall]:
    """Feed a group message with these `fields`; the bot's messages that answered it."""
    mark = len(bench.telegram.calls)
    update = bench.telegram.inject_message(GROUP, text, chat_type="supergroup", fields=fields)
    await bench.dispatcher.feed_raw_update(bench.bot, update)
    await bench.lane.settled()
    return [
        call
        for call in bench.telegram.calls[mark:]
        if call.method in ("sendMessage", "editMessageText")
    ]


async def _recorded(bench: BotBench) -> tuple[int, int]:
    """How many users and requests the database holds."""
    async with bench.sessions() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        files = await session.scalar(select(func.count()).select_from(RequestRow))
    return int(users or 0), int(files or 0)


@pytest.mark.parametrize("fields", SENT_AS_A_CHAT.values(), ids=SENT_AS_A_CHAT.keys())
async def test_a_message_sent_as_a_chat_gets_one_line_and_records_nothing(
    bench: BotBench, fields: dict[str, Any]
) -> None:
    bench.lookups[LINK] = AssertionError("no lookup for a chat")
    for text in (LINK, f"/dl {LINK}", "/queue", "/history", "/start", "/language", "/help"):
        answers = await _say(bench, text, fields)
        assert [call.params["text"] for call in answers] == [texts.sent_on_behalf_of_a_chat()]
        assert answers[0].ok and answers[0].params.get("reply_parameters"), text
    assert await _recorded(bench) == (0, 0)


async def test_a_linked_channels_forwarded_post_gets_nothing(bench: BotBench) -> None:
    bench.lookups[LINK] = AssertionError("no lookup for a forwarded post")
    fields = {"from": _TELEGRAM, "sender_chat": _CHANNEL_CHAT, "is_automatic_forward": True}
    assert await _say(bench, f"New video: {LINK}", fields) == []
    assert await _recorded(bench) == (0, 0)


@pytest.mark.parametrize("fields", SENT_AS_A_CHAT.values(), ids=SENT_AS_A_CHAT.keys())
async def test_chatter_sent_as_a_chat_gets_nothing(bench: BotBench, fields: dict[str, Any]) -> None:
    assert await _say(bench, "hello everyone", fields) == []


async def test_the_same_admin_writing_as_themselves_is_served(bench: BotBench) -> None:
    await _say(bench, LINK, SENT_AS_A_CHAT["anonymous admin"])
    answers = await _say(bench, LINK, {})
    assert any("inline_keyboard" in call.params.get("reply_markup", "") for call in answers)
    assert await _recorded(bench) == (1, 1)
