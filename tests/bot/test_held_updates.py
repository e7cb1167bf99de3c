"""Updates held while the database or the broker is away, through the real dispatcher on a
fake clock: answered once it is back, each chat told once per outage, nothing sent twice,
and a failure that is no outage never held."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from mediabot.bot.outages import HOLD_BACKOFF, NOTICE_AFTER_S, TOLD_KEPT_S
from mediabot.db.models import RequestRow
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.base import PublishFailedError
from tests.bot.conftest import BotBench
from tests.support.fake_telegram import ApiCall

CHAT = 820_000_001
OTHER = 820_000_002
NOTICE = "Busy for a moment"


class _Outage:
    """The database away until `until` on the bench's clock; what it raises meanwhile."""

    clock: Any = None
    until = -math.inf
    error: Exception = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")
    failures = 0

    @classmethod
    def begin(cls, seconds: float, error: Exception | None = None) -> None:
        cls.until = cls.clock() + seconds
        cls.error = error or ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")

    @classmethod
    def check(cls) -> None:
        if cls.clock is not None and cls.clock() < cls.until:
            cls.failures += 1
            raise cls.error


@pytest.fixture
def before_bot_statement() -> Callable[[], None]:
    """Every statement of the bot's fails while the `_Outage` lasts."""
    return _Outage.check


@pytest.fixture(autouse=True)
def outage(bench: BotBench) -> type[_Outage]:
    _Outage.clock, _Outage.until, _Outage.failures = bench.clock, -math.inf, 0
    return _Outage


def _in_chat(bench: BotBench, chat: int, *methods: str) -> list[ApiCall]:
    return [
        call
        for call in bench.telegram.calls_of(*methods)
        if call.ok and call.params.get("chat_id") == str(chat)
    ]


def _keyboards(bench: BotBench, chat: int) -> list[ApiCall]:
    return [
        call
        for call in _in_chat(bench, chat, "sendMessage", "editMessageText")
        if "360p" in call.params.get("reply_markup", "")
    ]


def _statuses(bench: BotBench, chat: int) -> list[ApiCall]:
    return [
        call
        for call in _in_chat(bench, chat, "sendMessage")
        if "Looking up" in call.params.get("text", "")
    ]


def _notices(bench: BotBench, chat: int) -> list[ApiCall]:
    return [call for call in _in_chat(bench, chat, "sendMessage") if NOTICE in call.params["text"]]


async def _offer(bench: BotBench, chat: int = CHAT) -> tuple[int, str]:
    """A link's offer in `chat`: its message and the data of its 360p button."""
    await bench.say(chat, "https://example.com/v")
    [keyboard] = _keyboards(bench, chat)
    markup = json.loads(keyboard.params["reply_markup"])
    [data] = [
        button["callback_data"]
        for row in markup["inline_keyboard"]
        for button in row
        if button["text"].startswith("360p")
    ]
    return int(keyboard.result["message_id"]), data


async def test_a_link_sent_while_the_database_is_away_is_answered_once_it_is_back(
    bench: BotBench, outage: type[_Outage]
) -> None:
    outage.begin(10.0)
    started = bench.clock()
    await bench.say(CHAT, "https://example.com/v")
    assert bench.clock() - started >= 10.0
    assert _statuses(bench, CHAT) == []  # a quick lookup: the keyboard is the one message
    assert len(_keyboards(bench, CHAT)) == 1
    [notice] = _notices(bench, CHAT)
    assert "answered shortly" in notice.params["text"]
    # Growing waits up to the backoff's cap, never more.
    holds = [wait for wait in bench.clock.sleeps if wait <= HOLD_BACKOFF.max_delay_s]
    assert holds[:4] == [0.25, 0.5, 1.0, 2.0] and max(holds) == HOLD_BACKOFF.max_delay_s


async def test_a_short_outage_is_waited_out_without_a_word(
    bench: BotBench, outage: type[_Outage]
) -> None:
    outage.begin(NOTICE_AFTER_S / 2)
    await bench.say(CHAT, "https://example.com/v")
    assert len(_keyboards(bench, CHAT)) == 1
    assert not _notices(bench, CHAT)


async def test_each_chat_is_told_once_per_outage_however_many_updates_wait(
    bench: BotBench, outage: type[_Outage]
) -> None:
    outage.begin(10.0)
    await asyncio.gather(
        bench.say(CHAT, "https://example.com/a"),
        bench.say(CHAT, "https://example.com/b"),
        bench.say(OTHER, "https://example.com/c"),
    )
    assert len(_notices(bench, CHAT)) == 1 and len(_notices(bench, OTHER)) == 1
    assert len(_keyboards(bench, CHAT)) == 2 and len(_keyboards(bench, OTHER)) == 1
    outage.begin(10.0)  # a database failing again as it comes back: the same outage
    await bench.say(CHAT, "https://example.com/d")
    assert len(_notices(bench, CHAT)) == 1
    bench.clock.now += TOLD_KEPT_S + 1
    outage.begin(10.0)  # the next outage is told again
    await bench.say(CHAT, "https://example.com/e")
    assert len(_notices(bench, CHAT)) == 2


async def test_a_failure_that_is_no_outage_is_raised_at_once(
    bench: BotBench, outage: type[_Outage], caplog: pytest.LogCaptureFixture
) -> None:
    outage.begin(10.0, ValueError("a bug in a statement"))
    with pytest.raises(ValueError, match="a bug"):
        await bench.say(CHAT, "https://example.com/v")
    assert outage.failures == 1 and bench.clock.sleeps == []
    assert not bench.telegram.calls_of("sendMessage")


async def test_a_press_while_the_database_is_away_queues_its_request_once(
    bench: BotBench, outage: type[_Outage]
) -> None:
    message_id, data = await _offer(bench)
    outage.begin(10.0)
    await bench.press(CHAT, message_id, data)
    assert [Job.decode(body).request_id for body in _published(bench)] == [_request(data)]
    assert len(_notices(bench, CHAT)) == 1
    assert await _state(bench, _request(data)) is RequestState.QUEUED


async def test_a_press_waits_out_the_broker_and_is_published_once(
    bench: BotBench, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id, data = await _offer(bench)
    attempts: list[float] = []
    publish = bench.queue.publish

    async def broker_away_for_a_while(job: Job) -> None:
        attempts.append(bench.clock())
        if len(attempts) <= 3:
            await bench.clock.sleep(30.0)  # the queue's own publish timeout
            raise PublishFailedError("RabbitMQ did not take the job within 30s")
        await publish(job)

    monkeypatch.setattr(bench.queue, "publish", broker_away_for_a_while)
    await bench.press(CHAT, message_id, data)
    assert len(attempts) == 4
    assert [Job.decode(body).request_id for body in _published(bench)] == [_request(data)]
    assert await _state(bench, _request(data)) is RequestState.QUEUED
    assert len(_notices(bench, CHAT)) == 1


async def test_a_press_the_broker_never_takes_stays_queued_for_recovery(
    bench: BotBench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    message_id, data = await _offer(bench)

    async def broker_gone(job: Job) -> None:
        await bench.clock.sleep(30.0)
        raise PublishFailedError("RabbitMQ did not take the job within 30s")

    monkeypatch.setattr(bench.queue, "publish", broker_gone)
    with caplog.at_level(logging.ERROR):
        await bench.press(CHAT, message_id, data)
    assert "recovery publishes it" in caplog.text
    assert await _state(bench, _request(data)) is RequestState.QUEUED
    assert len(_notices(bench, CHAT)) == 1


def _request(data: str) -> uuid.UUID:
    return uuid.UUID(hex=data.split(":")[1])


def _published(bench: BotBench) -> list[bytes]:
    bodies = []
    while not bench.queue._deliveries.empty():
        bodies.append(bench.queue._deliveries.get_nowait())
    return bodies


async def _state(bench: BotBench, request_id: uuid.UUID) -> RequestState:
    async with bench.sessions() as session:
        file = await session.get(RequestRow, request_id)
        assert file is not None
        return file.state
