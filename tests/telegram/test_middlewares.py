"""Retry and pacing middlewares, driven with a scripted `make_request` (no HTTP)."""

from __future__ import annotations

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

from mediabot.telegram.middlewares import PacingMiddleware, RetryMiddleware
from mediabot.telegram.pacing import Pacer, Rate

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


async def test_pacing_covers_sends_and_edits(bot: Bot, sleeps: Sleeps) -> None:
    pacer = Pacer(clock=lambda: 0.0, sleep=sleeps, per_chat=Rate(1.0, burst=1))
    middleware = PacingMiddleware(pacer)
    script = Script()
    album = SendMediaGroup(
        chat_id=5, media=[InputMediaPhoto(media="a"), InputMediaPhoto(media="b")]
    )
    edit = EditMessageText(chat_id=5, message_id=1, text="50%")
    await middleware(script, bot, SendMessage(chat_id=5, text="one"))
    await middleware(script, bot, album)
    await middleware(script, bot, edit)
    await middleware(script, bot, SendMessage(chat_id=5, text="two"))
    assert len(script.calls) == 4
    # the album waited one slot and took two; Telegram counts edits, so the edit took one
    assert sleeps.seconds == [1.0, 3.0, 4.0]


async def test_flood_control_holds_the_pacer_back(bot: Bot, sleeps: Sleeps) -> None:
    """After a 429 the rest of the process waits too, not only the refused request."""
    pacer = Pacer(clock=lambda: 0.0, sleep=sleeps)
    script = Script(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=5))
    await RetryMiddleware(pacer=pacer, sleep=sleeps)(script, bot, METHOD)
    assert not pacer.has_room(1)  # the refused chat
    assert not pacer.has_room(2)  # and everyone else


async def test_flood_waits_are_bounded_by_their_total(bot: Bot, sleeps: Sleeps) -> None:
    script = Script(
        *(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=20) for _ in range(5))
    )
    with pytest.raises(TelegramRetryAfter):
        await RetryMiddleware(max_flood_wait_s=50, sleep=sleeps)(script, bot, METHOD)
    assert sleeps.seconds == [20.0, 20.0]
