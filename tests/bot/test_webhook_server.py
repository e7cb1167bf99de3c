"""The webhook server: what Telegram's posts are answered, and when.

`serve_webhook` runs in this process on a free port, in front of a dispatcher with one
recording handler behind the claim middleware (SQLite); the posts are made as Telegram makes
them. A 2xx must come only once the update is handled: Telegram forgets an update it got a
2xx for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher
from aiohttp import ClientSession, ClientTimeout

from mediabot.bot.webhook import MAX_CONNECTIONS, serve_webhook
from mediabot.db.engine import create_engine
from tests.support.caddy import free_port
from tests.support.fake_telegram import FakeTelegram
from tests.support.recording import Recorder, message_update, recording_dispatcher
from tests.support.services import MigratedDatabases

SECRET = "s3cret-Token_1"


@dataclass
class Hook:
    url: str
    recorder: Recorder

    @property
    def handled(self) -> list[str]:
        return self.recorder.handled

    def behave(self, behaviour: Callable[[str], Awaitable[None]]) -> None:
        self.recorder.behaviour = behaviour

    async def post(
        self, body: object, *, secret: str | None = SECRET, within_s: float = 30
    ) -> tuple[int, dict[str, str]]:
        """Post `body` as Telegram does; the status and headers of the answer."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with (
            ClientSession(timeout=ClientTimeout(total=within_s)) as session,
            session.post(self.url, data=json.dumps(body), headers=headers) as answer,
        ):
            return answer.status, dict(answer.headers)


@pytest.fixture
async def hook(
    telegram: FakeTelegram,
    telegram_bot: Bot,
    tmp_path: Path,
    migrated_databases: MigratedDatabases,
) -> AsyncIterator[Hook]:
    engine = create_engine(migrated_databases.sqlite(tmp_path / "claims.db"))
    recorder = recording_dispatcher(engine, wait_when_busy=False)
    port = free_port()
    served = Hook(f"http://127.0.0.1:{port}/telegram/hook", recorder)
    server = asyncio.create_task(
        serve_webhook(
            recorder.dispatcher,
            telegram_bot,
            url="https://bot.example.org/telegram/hook",
            listen=f"127.0.0.1:{port}",
            secret_token=SECRET,
        )
    )
    await telegram.wait_for(lambda call: call.method == "setWebhook" and call.ok, 30)
    yield served
    server.cancel()
    await asyncio.gather(server, return_exceptions=True)
    await engine.dispose()


async def test_the_webhook_is_registered_to_keep_pending_updates(
    hook: Hook, telegram: FakeTelegram
) -> None:
    registered = telegram.calls_of("setWebhook")[-1]
    assert registered.params["url"] == "https://bot.example.org/telegram/hook"
    assert registered.params["secret_token"] == SECRET
    assert registered.params["max_connections"] == str(MAX_CONNECTIONS)
    assert registered.params.get("drop_pending_updates") in (None, "false")
    assert "message" in registered.json("allowed_updates")
    assert not telegram.calls_of("deleteWebhook")


async def test_a_post_is_answered_only_once_its_update_is_handled(hook: Hook) -> None:
    gate = asyncio.Event()
    hook.behave(lambda _: gate.wait())
    post = asyncio.create_task(hook.post(message_update("a link")))
    await hook.recorder.started.wait()
    done, _ = await asyncio.wait({post}, timeout=0.5)
    assert not done, "answered while the update was still being handled"
    gate.set()
    status, _ = await post
    assert status == 200


async def test_a_post_without_the_secret_token_is_refused_unhandled(hook: Hook) -> None:
    assert (await hook.post(message_update("forged"), secret="wrong"))[0] == 401
    assert (await hook.post(message_update("forged"), secret=None))[0] == 401
    assert hook.handled == []


async def test_a_post_that_is_not_an_update_is_refused(hook: Hook) -> None:
    assert (await hook.post({"hello": "world"}))[0] == 400
    assert (await hook.post(["not", "an", "object"]))[0] == 400
    assert hook.handled == []


async def test_a_second_delivery_during_the_first_is_asked_to_come_back(hook: Hook) -> None:
    gate = asyncio.Event()
    hook.behave(lambda _: gate.wait())
    update = message_update("twice at once")
    first = asyncio.create_task(hook.post(update))
    await hook.recorder.started.wait()

    status, headers = await hook.post(update)
    assert status == 503
    assert 1 <= int(headers["Retry-After"]) <= 31
    gate.set()
    assert (await first)[0] == 200
    assert (await hook.post(update))[0] == 200  # handled: acknowledged, not handled again
    assert hook.handled == ["twice at once"]


async def test_a_failed_update_is_answered_500_and_acknowledged_when_posted_again(
    hook: Hook,
) -> None:
    async def fail(_: str) -> None:
        raise RuntimeError("a bug")

    hook.behave(fail)
    update = message_update("poison")
    assert (await hook.post(update))[0] == 500
    assert (await hook.post(update))[0] == 200
    assert hook.handled == ["poison"]


async def test_an_update_whose_post_timed_out_is_handled_once(hook: Hook) -> None:
    """Telegram gives up waiting (its 60 s): the handling goes on, the next post of the
    update is acknowledged without handling it again."""
    gate = asyncio.Event()
    hook.behave(lambda _: gate.wait())
    update = message_update("slow")
    with pytest.raises(TimeoutError):
        await hook.post(update, within_s=0.3)
    gate.set()
    async with asyncio.timeout(30):
        while True:  # Telegram posts it again until it gets a 2xx
            status, _ = await hook.post(update)
            if status == 200:
                break
            assert status == 503
    assert hook.handled == ["slow"]


async def test_a_conflicting_set_webhook_is_asked_again(
    telegram: FakeTelegram, telegram_bot: Bot, tmp_path: Path
) -> None:
    """Another process's setWebhook under way ends this one's with 409: ask again."""
    telegram.fail_next(
        "setWebhook", error_code=409, description="Conflict: terminated by other setWebhook"
    )
    server = asyncio.create_task(
        serve_webhook(
            Dispatcher(),
            telegram_bot,
            url="https://bot.example.org/hook",
            listen=f"127.0.0.1:{free_port()}",
            secret_token=SECRET,
        )
    )
    try:
        await telegram.wait_for(lambda call: call.method == "setWebhook" and call.ok, 30)
        assert [call.status for call in telegram.calls_of("setWebhook")] == [409, 200]
        assert not server.done()
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
