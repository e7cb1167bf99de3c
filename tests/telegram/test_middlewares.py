"""Retry and pacing middlewares, driven with a scripted `make_request` (no HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, SendMediaGroup, SendMessage, TelegramMethod
from aiogram.types import InputMediaPhoto

from mediabot.telegram.flood import FloodWait, answer_deadline, flood_hand_back, flood_observer
from mediabot.telegram.middlewares import PacingMiddleware, RetryMiddleware
from mediabot.telegram.pacing import Pacer, Rate
from tests.support.clock import FakeClock

TOKEN = "123456:TEST-token-never-logged"


class Script:
    """A `make_request` that raises the scripted errors in turn, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self._errors: Iterator[Exception] = iter(errors)
        self.calls: list[TelegramMethod[Any]] = []

    async def __call__(self, bot: Bot, method: TelegramMethod[Any]) -> Any:
        self.calls.append(method)
        error = next(self._errors, None)
        if error is not None:
            raise error
        return "ok"


class Sleeps:
    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def bot() -> Bot:
    return Bot(token=TOKEN)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


METHOD = SendMessage(chat_id=1, text="hi")


async def test_retry_after_waits_and_repeats_the_same_call(bot: Bot, sleeps: Sleeps) -> None:
    script = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=3))
    result: object = await RetryMiddleware(sleep=sleeps)(script, bot, METHOD)
    assert result == "ok"
    assert script.calls == [METHOD, METHOD]
    assert sleeps.seconds == [3.0]


async def test_network_and_server_errors_back_off_exponentially(bot: Bot, sleeps: Sleeps) -> None:
    script = Script(
        TelegramNetworkError(METHOD, "reset"),
        TelegramServerError(METHOD, "Bad Gateway"),
        TelegramNetworkError(METHOD, "timeout"),
    )
    middleware = RetryMiddleware(max_attempts=4, base_delay_s=0.5, sleep=sleeps)
    result: object = await middleware(script, bot, METHOD)
    assert result == "ok"
    assert sleeps.seconds == [0.5, 1.0, 2.0]


async def test_retries_are_bounded(bot: Bot, sleeps: Sleeps) -> None:
    script = Script(*(TelegramServerError(METHOD, "Internal") for _ in range(5)))
    with pytest.raises(TelegramServerError):
        await RetryMiddleware(max_attempts=3, sleep=sleeps)(script, bot, METHOD)
    assert len(script.calls) == 3


@pytest.mark.parametrize(
    "error",
    [TelegramEntityTooLarge(METHOD, "Request Entity Too Large"), TelegramBadRequest(METHOD, "x")],
)
async def test_too_large_and_bad_requests_are_not_retried(
    bot: Bot, sleeps: Sleeps, error: Exception
) -> None:
    script = Script(error)
    with pytest.raises(type(error)):
        await RetryMiddleware(sleep=sleeps)(script, bot, METHOD)
    assert len(script.calls) == 1
    assert sleeps.seconds == []


async def test_retry_logs_never_show_the_token(
    bot: Bot, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    script = Script(TelegramNetworkError(METHOD, f"cannot reach /bot{TOKEN}/sendMessage"))
    with caplog.at_level("WARNING"):
        await RetryMiddleware(sleep=sleeps)(script, bot, METHOD)
    assert caplog.records
    assert TOKEN not in caplog.text


async def test_pacing_covers_sends_and_edits(bot: Bot) -> None:
    # A fake clock: the bot-wide bucket is made roomy so only the chat's pacing shows.
    clock = FakeClock()
    pacer = Pacer(
        clock=clock, sleep=clock.sleep, overall=Rate(1000.0, burst=10), per_chat=Rate(1.0, burst=1)
    )
    middleware = PacingMiddleware(pacer)
    script = Script()
    album = SendMediaGroup(
        chat_id=5, media=[InputMediaPhoto(media="a"), InputMediaPhoto(media="b")]
    )
    edit = EditMessageText(chat_id=5, message_id=1, text="50%")
    sent_at = []
    for method in (SendMessage(chat_id=5, text="one"), album, edit):
        await middleware(script, bot, method)
        sent_at.append(clock.now)
    await middleware(script, bot, SendMessage(chat_id=5, text="two"))
    sent_at.append(clock.now)
    assert len(script.calls) == 4
    # the album waited one slot and took two; Telegram counts edits, so the edit took one
    assert sent_at == pytest.approx([0.0, 1.0, 3.0, 4.0])


async def test_flood_control_holds_the_pacer_back(bot: Bot, sleeps: Sleeps) -> None:
    """After 429s in several chats the rest of the process waits too."""
    pacer = Pacer(clock=lambda: 0.0, sleep=sleeps)
    middleware = RetryMiddleware(pacer=pacer, sleep=sleeps)
    for chat in (3, 4, 1):
        method = SendMessage(chat_id=chat, text="hi")
        script = Script(TelegramRetryAfter(method, "Too Many Requests", retry_after=5))
        await middleware(script, bot, method)
    assert not await pacer.has_room(1)  # the refused chat
    assert not await pacer.has_room(2)  # and everyone else


async def test_flood_waits_are_bounded_by_their_total(bot: Bot, sleeps: Sleeps) -> None:
    script = Script(
        *(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=20) for _ in range(5))
    )
    with pytest.raises(TelegramRetryAfter):
        await RetryMiddleware(max_flood_wait_s=50, sleep=sleeps)(script, bot, METHOD)
    assert sleeps.seconds == [20.0, 20.0]


async def test_a_flood_wait_longer_than_the_hand_back_is_raised_after_holding_the_chat(
    bot: Bot, sleeps: Sleeps
) -> None:
    """Inside `flood_hand_back`, a wait up to the bound is sat out, a longer one raised;
    either way the chat is held back for every sender."""
    pacer = Pacer(clock=lambda: 0.0, sleep=sleeps)
    middleware = RetryMiddleware(pacer=pacer, sleep=sleeps)
    short = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=10))
    long = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=40))
    with flood_hand_back(30):
        assert await middleware(short, bot, METHOD) == "ok"
        with pytest.raises(TelegramRetryAfter):
            await middleware(long, bot, METHOD)
    assert sleeps.seconds == [10.0]
    assert await pacer.delay(1) >= 40
    # outside the block, the long wait is sat out as before
    again = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=40))
    assert await middleware(again, bot, METHOD) == "ok"


async def test_one_chats_flood_control_holds_only_that_chat(bot: Bot, sleeps: Sleeps) -> None:
    pacer = Pacer(clock=lambda: 0.0, sleep=sleeps)
    script = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=160))
    await RetryMiddleware(pacer=pacer, sleep=sleeps)(script, bot, METHOD)
    assert not await pacer.has_room(1)
    assert await pacer.has_room(2)


async def test_an_inline_messages_flood_control_holds_back_only_that_edit(
    bot: Bot, sleeps: Sleeps
) -> None:
    """An edit by `inline_message_id` names no chat; its 429 must not read as the bot's."""
    pacer = Pacer(clock=lambda: 0.0, sleep=sleeps)
    method = EditMessageText(text="40 %", inline_message_id="AgAAAFx")
    script = Script(TelegramRetryAfter(method, "Too Many Requests", retry_after=30))
    assert await RetryMiddleware(pacer=pacer, sleep=sleeps)(script, bot, method) == "ok"
    assert sleeps.seconds == [30.0]  # the edit itself waited
    assert await pacer.has_room(42) and await pacer.has_room(-1001)  # nobody else


async def test_flood_waits_are_sat_out_however_long_by_default(bot: Bot, sleeps: Sleeps) -> None:
    """A worker holding a request waits as long as Telegram says, never burns an attempt."""
    script = Script(
        *(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=200) for _ in range(3))
    )
    result: object = await RetryMiddleware(sleep=sleeps)(script, bot, METHOD)
    assert result == "ok"
    assert sleeps.seconds == [200.0, 200.0, 200.0]


async def test_an_answer_is_retried_until_its_deadline(bot: Bot, sleeps: Sleeps) -> None:
    now = [1000.0]

    async def sleep(seconds: float) -> None:
        sleeps.seconds.append(seconds)
        now[0] += seconds

    script = Script(
        *(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=1) for _ in range(20))
    )
    middleware = RetryMiddleware(sleep=sleep, wall_clock=lambda: now[0])
    with answer_deadline(1000.0 + 300):
        result: object = await middleware(script, bot, METHOD)
    assert result == "ok"
    assert len(script.calls) == 21

    late = Script(
        *(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=60) for _ in range(20))
    )
    deadline = now[0] + 300
    with answer_deadline(deadline), pytest.raises(TelegramRetryAfter):
        await middleware(late, bot, METHOD)
    assert now[0] <= deadline
    assert len(late.calls) == 6  # 5 waits of 60 s fit, the sixth would end too late


async def test_a_deadline_ends_with_its_block(bot: Bot, sleeps: Sleeps) -> None:
    with answer_deadline(0.0):
        pass
    script = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=9))
    assert await RetryMiddleware(sleep=sleeps)(script, bot, METHOD) == "ok"


async def test_observers_hear_of_each_flood_wait_before_the_sleep(bot: Bot, sleeps: Sleeps) -> None:
    heard: list[tuple[FloodWait, int]] = []
    script = Script(
        TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=200),
        TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=5),
    )
    with flood_observer(lambda wait: heard.append((wait, len(sleeps.seconds)))):
        await RetryMiddleware(sleep=sleeps)(script, bot, METHOD)
    assert heard == [
        (FloodWait(chat_id=1, method="sendMessage", retry_after=200.0, waited_s=0.0), 0),
        (FloodWait(chat_id=1, method="sendMessage", retry_after=5.0, waited_s=200.0), 1),
    ]


async def test_observers_are_scoped_to_their_task(bot: Bot, sleeps: Sleeps) -> None:
    heard: list[FloodWait] = []

    async def elsewhere() -> None:
        script = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=1))
        await RetryMiddleware(sleep=sleeps)(script, bot, METHOD)

    other = asyncio.create_task(elsewhere())  # started outside the block
    with flood_observer(heard.append):
        await other
    assert heard == []


async def test_a_failing_observer_does_not_stop_the_retry(bot: Bot, sleeps: Sleeps) -> None:
    def broken(wait: FloodWait) -> None:
        raise RuntimeError("observer bug")

    script = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=1))
    with flood_observer(broken):
        assert await RetryMiddleware(sleep=sleeps)(script, bot, METHOD) == "ok"


async def test_an_answer_is_not_queued_behind_a_flood_wait_past_its_deadline(bot: Bot) -> None:
    clock = FakeClock()  # the pacer's clock moves as it sleeps; the wall clock stands still
    pacer = Pacer(clock=clock, sleep=clock.sleep, overall=Rate(30.0, burst=30))
    await pacer.penalize(1, 160)
    middleware = PacingMiddleware(pacer, wall_clock=lambda: 1000.0)
    script = Script()
    with answer_deadline(1000.0 + 60), pytest.raises(TelegramRetryAfter):
        await middleware(script, bot, METHOD)
    assert script.calls == []
    assert clock.sleeps == []
    with answer_deadline(1000.0 + 300):
        await middleware(script, bot, METHOD)  # within the deadline: waits its turn
    assert clock.sleeps == [pytest.approx(160, abs=5)]
    await middleware(script, bot, SendMessage(chat_id=2, text="other chat"))
    assert len(clock.sleeps) == 1
