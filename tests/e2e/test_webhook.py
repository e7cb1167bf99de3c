"""Webhook mode: Telegram posts updates to the bot's own HTTP server; several bot processes
behind Caddy (as the Compose `webhook` profile runs them) handle each update once."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector
from sqlalchemy import text

from mediabot.db.engine import create_engine
from tests.support.caddy import Caddy
from tests.support.conversation import Conversation
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media import MediaSources
from tests.support.ports import free_port
from tests.support.processes import MediabotProcess, mediabot_env


async def test_updates_posted_to_the_webhook_are_answered(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    port = free_port()
    env = mediabot_env(
        fake_telegram,
        tmp_path,
        WEBHOOK_URL="https://bot.example.org/telegram/hook",
        WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        WEBHOOK_SECRET="s3cret-token",
    )
    process = MediabotProcess("run", env, tmp_path / "webhook.log").start()
    chat = Conversation(fake_telegram)
    try:
        process.wait_for_log("webhook server listening")
        registered = fake_telegram.calls_of("setWebhook")[-1]
        assert registered.params["url"] == "https://bot.example.org/telegram/hook"
        assert registered.params["secret_token"] == "s3cret-token"

        hook = f"http://127.0.0.1:{port}/telegram/hook"
        since = len(fake_telegram.calls)
        update = fake_telegram.inject_message(chat.chat_id, "no link here")
        forged = await fake_telegram.post_update_to(hook, update, secret_token="wrong")
        assert forged == 401
        assert await fake_telegram.post_update_to(hook, update, secret_token="s3cret-token") == 200
        reply = await chat.reply(since)
        assert "Send me a link" in reply.params["text"]
    finally:
        assert process.stop() == 0
        fake_telegram.reset()  # forget the webhook: later tests poll


# -- many bot processes behind the proxy --------------------------------------------------------


@dataclass
class Fleet:
    """Two `mediabot bot` processes in webhook mode behind Caddy, one worker, PostgreSQL."""

    caddy: Caddy
    bots: list[MediabotProcess]
    worker: MediabotProcess
    database_url: str

    def bot_of(self, owner: str) -> MediabotProcess:
        """The bot process a claim's owner (`<host>-<pid>-<tag>/<n>`) names."""
        pid = int(owner.split("/")[0].rsplit("-", 2)[1])
        return next(bot for bot in self.bots if bot.pid == pid)

    async def claims(self) -> dict[int, tuple[str, float | None]]:
        """Every update claim: update id -> (owner, handled_at)."""
        engine = create_engine(self.database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT update_id, owner, handled_at FROM updates")
                )
                return {row.update_id: (row.owner, row.handled_at) for row in rows}
        finally:
            await engine.dispose()


LEASE_S = 5


@pytest.fixture(scope="module")
def fleet(
    fake_telegram: FakeTelegram,
    tmp_path_factory: pytest.TempPathFactory,
    make_pg_database: Callable[[], str],
    make_amqp_vhost: Callable[[], str],
) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("fleet")
    database_url = make_pg_database()
    ports = [free_port(), free_port()]
    caddy = Caddy(root / "caddy", [f"127.0.0.1:{port}" for port in ports]).start()
    fake_telegram.deliver_to_webhook(cafile=caddy.root_certificate)
    base = {
        "DATABASE_URL": database_url.replace("+asyncpg", ""),
        "AMQP_URL": make_amqp_vhost(),
        "WEBHOOK_URL": caddy.url("/telegram/hook"),
        "UPDATE_LEASE_S": str(LEASE_S),
    }

    def start(command: str, name: str, **extra: str) -> MediabotProcess:
        env = mediabot_env(fake_telegram, root / name, **base, **extra)
        return MediabotProcess(command, env, root / f"{name}.log").start()

    migrate = start("migrate", "migrate")
    assert migrate.wait(180) == 0, migrate.log
    worker = start("worker", "worker")
    bots = [
        start("bot", f"bot-{n}", WEBHOOK_LISTEN=f"127.0.0.1:{port}") for n, port in enumerate(ports)
    ]
    try:
        for bot in bots:
            bot.wait_for_log("webhook server listening", 180)
        worker.wait_for_log("mediabot started", 180)
        yield Fleet(caddy, bots, worker, database_url)
    finally:
        for process in (*bots, worker):
            if process.running():
                assert process.stop() == 0, process.log[-3000:]
        caddy.stop()
        fake_telegram.reset()


def _offers(chat: Conversation) -> list[ApiCall]:
    """The bot's messages (sent or edited into) offering the link's resolutions."""
    return [
        call
        for call in chat.calls("sendMessage", "editMessageText")
        if call.ok and '"360p' in call.params.get("reply_markup", "")
    ]


async def _acknowledged(telegram: FakeTelegram, update_ids: list[int], within: float) -> None:
    """Wait until Telegram got a 2xx for each of these updates (and forgot it)."""
    deadline = time.monotonic() + within
    while True:
        done = {post.update_id for post in telegram.webhook_posts if post.ok}
        if done >= set(update_ids):
            return
        assert time.monotonic() < deadline, f"never acknowledged: {set(update_ids) - done}"
        await asyncio.sleep(0.05)


async def test_two_bots_behind_the_proxy_handle_each_update_once(
    fleet: Fleet, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chats = [Conversation(fake_telegram) for _ in range(8)]
    twice, lost = chats[:2], chats[2:4]
    for chat in twice:
        fake_telegram.post_twice_in(chat.chat_id)  # both copies at once, one to each bot
    for chat in lost:
        fake_telegram.lose_answers_in(chat.chat_id)  # handled, but Telegram posts it again

    links = [fake_telegram.inject_message(chat.chat_id, media.progressive_mp4) for chat in chats]
    keyboards = await asyncio.gather(*(chat.keyboard(0, within=180) for chat in chats))
    presses = [
        fake_telegram.inject_callback(chat.chat_id, keyboard.message_id, keyboard.data("360p"))
        for chat, keyboard in zip(chats, keyboards, strict=True)
    ]
    await asyncio.gather(*(chat.media(0, within=240) for chat in chats))
    update_ids = [update["update_id"] for update in (*links, *presses)]
    await _acknowledged(fake_telegram, update_ids, within=60)

    for chat, press in zip(chats, presses, strict=True):
        assert len(_offers(chat)) == 1, chat.chat_id  # one answer per link
        # One file per press: sent, or (from Telegram's copy) edited into the keyboard.
        assert len(chat.calls("sendVideo", "editMessageMedia")) == 1, chat.chat_id
        answers = [
            call
            for call in fake_telegram.calls_of("answerCallbackQuery")
            if call.params["callback_query_id"] == press["callback_query"]["id"]
        ]
        assert len(answers) == 1, chat.chat_id

    claims = await fleet.claims()
    assert all(claims[update_id][1] is not None for update_id in update_ids)
    handlers = {fleet.bot_of(claims[update_id][0]).pid for update_id in update_ids}
    assert handlers == {bot.pid for bot in fleet.bots}  # both processes handled some

    # The redeliveries really happened: both copies posted, lost answers posted again.
    posts = fake_telegram.webhook_posts
    for chat in twice:
        ids = [u["update_id"] for u in (*links, *presses) if _chat_of(u) == chat.chat_id]
        assert all(sum(post.update_id == i for post in posts) >= 2 for i in ids)
    for chat in lost:
        ids = [u["update_id"] for u in (*links, *presses) if _chat_of(u) == chat.chat_id]
        for update_id in ids:
            of_update = [post for post in posts if post.update_id == update_id]
            assert of_update[0].lost and of_update[-1].ok


async def test_a_forged_post_through_the_proxy_is_refused(
    fleet: Fleet, fake_telegram: FakeTelegram
) -> None:
    """The secret token header is checked behind the proxy too (here derived from the
    token: WEBHOOK_SECRET is not set)."""
    context = ssl.create_default_context(cafile=str(fleet.caddy.root_certificate))
    forged = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}
    async with (
        ClientSession(connector=TCPConnector(ssl=context)) as session,
        session.post(
            fleet.caddy.url("/telegram/hook"),
            json=forged,
            headers={"X-Telegram-Bot-Api-Secret-Token": "guessed"},
        ) as answer,
    ):
        assert answer.status == 401
    registered = fake_telegram.calls_of("setWebhook")[-1].params["secret_token"]
    assert len(registered) == 64


async def test_a_bot_killed_while_handling_an_update_does_not_lose_it(
    fleet: Fleet, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    """The bot that claimed the update dies before it is handled: Telegram got no 2xx and
    posts it again, the other bot takes the claim over once its lease ran out. (A command:
    the bot answers it itself, while a link's answer comes from a worker.)"""
    chat = Conversation(fake_telegram)
    fake_telegram.hold_calls_to(chat.chat_id)  # the handler is stuck at its first answer
    link = fake_telegram.inject_message(chat.chat_id, "/help")
    await fake_telegram.wait_until_held(chat.chat_id, 60)
    owner, handled_at = (await fleet.claims())[link["update_id"]]
    assert handled_at is None
    victim = fleet.bot_of(owner)
    survivor = next(bot for bot in fleet.bots if bot is not victim)

    victim.kill()
    fake_telegram.release_calls_to(chat.chat_id)
    await chat.reply(0, within=120)
    await _acknowledged(fake_telegram, [link["update_id"]], within=60)

    owner, handled_at = (await fleet.claims())[link["update_id"]]
    assert handled_at is not None
    assert fleet.bot_of(owner) is survivor
    helps = [
        call
        for call in chat.calls("sendMessage")
        if call.ok and "Send me a link" in call.params["text"]
    ]
    # The victim's answer was in Telegram's hands when it died; the survivor answered again.
    assert len(helps) == 2
    posts = [post for post in fake_telegram.webhook_posts if post.update_id == link["update_id"]]
    assert not posts[0].ok  # the victim's post broke off: Telegram posted the update again
    assert any(post.status == 503 for post in posts)  # the survivor waited out the lease


def _chat_of(update: dict[str, Any]) -> int:
    body = update.get("message") or update["callback_query"]["message"]
    return int(body["chat"]["id"])
