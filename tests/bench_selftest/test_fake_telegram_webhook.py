"""The fake Bot API's webhook delivery behaves as Telegram's (its `WebhookActor`): one chat's
updates one at a time and in order, chats side by side, an update posted again until a 2xx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter
from aiohttp import web

from tests.support.fake_telegram import FakeTelegram, WebhookPost
from tests.support.ports import free_port

Answer = Callable[[dict[str, Any]], Awaitable[web.Response]]


@dataclass
class Receiver:
    """A webhook that records what it is posted and answers as `answer` says."""

    url: str
    posts: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    answer: Answer | None = None

    def texts(self) -> list[str]:
        return [update["message"]["text"] for _, update in self.posts]

    async def until(self, count: int, within: float = 20) -> None:
        async with asyncio.timeout(within):
            while len(self.posts) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def _posts(telegram: FakeTelegram, count: int, within: float = 10) -> list[WebhookPost]:
    """The fake's record of its posts, once it holds `count` of them."""
    deadline = time.monotonic() + within
    while True:
        posts = telegram.webhook_posts
        if len(posts) >= count:
            return posts
        assert time.monotonic() < deadline, posts
        await asyncio.sleep(0.01)


@pytest.fixture
async def receiver(telegram: FakeTelegram, telegram_bot: Bot) -> AsyncIterator[Receiver]:
    telegram.local_mode = True  # a local Bot API server takes a plain-HTTP webhook
    port = free_port()
    got = Receiver(f"http://127.0.0.1:{port}/hook")

    async def handle(request: web.Request) -> web.Response:
        update = await request.json()
        got.posts.append((time.monotonic(), update))
        got.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""))
        got.arrived.set()
        if got.answer is not None:
            return await got.answer(update)
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await telegram_bot.set_webhook(got.url, secret_token="s3cret")
    telegram.deliver_to_webhook(timeout_s=5)
    yield got
    telegram.reset()
    await runner.cleanup()


async def test_a_chats_updates_come_in_order_one_at_a_time(
    telegram: FakeTelegram, receiver: Receiver
) -> None:
    slow = asyncio.Event()

    async def answer(update: dict[str, Any]) -> web.Response:
        if update["message"]["text"] == "a1":
            await slow.wait()
        return web.json_response({})

    receiver.answer = answer
    for text in ("a1", "a2", "a3"):
        telegram.inject_message(101, text)
    for text in ("b1", "b2"):
        telegram.inject_message(202, text)
    await receiver.until(3)  # a1 is held: b1 and b2 came meanwhile, a2 did not
    assert receiver.texts() == ["a1", "b1", "b2"]
    slow.set()
    await receiver.until(5)
    assert receiver.texts()[3:] == ["a2", "a3"]


async def test_an_update_is_posted_again_until_it_gets_a_2xx(
    telegram: FakeTelegram, receiver: Receiver
) -> None:
    answers = iter([500, 503, 200])

    async def answer(update: dict[str, Any]) -> web.Response:
        status = next(answers)
        headers = {"Retry-After": "1"} if status == 503 else {}
        return web.Response(status=status, headers=headers)

    receiver.answer = answer
    telegram.inject_message(303, "flaky")
    await receiver.until(3)
    (first, _), (second, _), (third, _) = receiver.posts
    assert second - first < 0.5  # the first failure: posted again at once
    assert third - second >= 1.0  # then after the answer's Retry-After
    posts = await _posts(telegram, 3)
    assert [post.status for post in posts] == [500, 503, 200]
    assert posts[1].retry_after == 1


async def test_a_post_without_an_answer_in_time_is_posted_again(
    telegram: FakeTelegram, receiver: Receiver
) -> None:
    telegram.deliver_to_webhook(timeout_s=0.3)
    hold = asyncio.Event()

    async def answer(update: dict[str, Any]) -> web.Response:
        if len(receiver.posts) == 1:
            await hold.wait()  # Telegram gives up on this one
        return web.json_response({})

    receiver.answer = answer
    telegram.inject_message(404, "slow")
    await receiver.until(2)
    hold.set()
    posts = await _posts(telegram, 2)
    assert posts[0].status is None and posts[1].ok


async def test_faults_on_purpose_post_twice_or_lose_the_answer(
    telegram: FakeTelegram, receiver: Receiver
) -> None:
    telegram.post_twice_in(505)
    telegram.lose_answers_in(606)
    telegram.inject_message(505, "twice")
    telegram.inject_message(606, "lost")
    await receiver.until(4)
    assert sorted(receiver.texts()) == ["lost", "lost", "twice", "twice"]
    lost = [post for post in await _posts(telegram, 4) if post.lost]
    assert len(lost) == 1 and lost[0].status == 200


async def test_the_secret_token_comes_with_each_post(
    telegram: FakeTelegram, receiver: Receiver
) -> None:
    telegram.inject_message(707, "hello")
    await receiver.until(1)
    assert receiver.secrets == ["s3cret"]
    assert (await _posts(telegram, 1))[0].ok


async def test_set_webhook_twice_within_a_second_is_told_to_wait(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    telegram.local_mode = True
    await telegram_bot.set_webhook("https://bot.example.org/hook")
    with pytest.raises(TelegramRetryAfter):
        await telegram_bot.set_webhook("https://bot.example.org/hook")


async def test_calls_to_a_held_chat_wait_until_released(
    telegram: FakeTelegram, telegram_bot: Bot
) -> None:
    telegram.hold_calls_to(808)
    held = asyncio.create_task(telegram_bot.send_message(808, "stuck"))
    await telegram_bot.send_message(909, "goes through")
    await telegram.wait_until_held(808, 10)
    assert not held.done()
    telegram.release_calls_to(808)
    assert (await asyncio.wait_for(held, 10)).text == "stuck"
    assert telegram.calls_held(808) == 0
