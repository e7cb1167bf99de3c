"""The database or the broker away for a while, as a restart, an upgrade or a failover has it.

A bot and two workers run on a PostgreSQL cluster of this module's own (the shared server
serves every other test) and a RabbitMQ virtual host of its own, with Telegram's limits on.
Links and presses arrive while PostgreSQL is stopped for 10 s, and while the broker refuses
the virtual host for longer than a publish's timeout: each is served exactly once when the
service is back, the jobs in flight finish, and each waiting user is told once.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

import pytest

from tests.support.conversation import Conversation, Keyboard
from tests.support.fake_telegram import ApiCall, FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.postgres_cluster import PostgresCluster, running_cluster
from tests.support.processes import MediabotProcess, mediabot_env, stop_all

OUTAGE_S = 10.0
PUBLISH_TIMEOUT_S = 5.0
"""The deployment's `PUBLISH_TIMEOUT_S`: how long a publish is retried before it fails."""
BROKER_OUTAGE_S = PUBLISH_TIMEOUT_S + 4.0
"""Longer than a publish's own timeout, after which a press used to fail."""
NOTICE = "Busy for a moment"
_MEDIA_METHODS = (
    "sendVideo",
    "sendAudio",
    "sendPhoto",
    "sendMediaGroup",
    "sendDocument",
    "editMessageMedia",  # a file from Telegram's copy takes its keyboard's place
)


@dataclass
class Deployment:
    postgres: PostgresCluster
    bot: MediabotProcess
    workers: list[MediabotProcess]
    vhost: str

    @property
    def processes(self) -> list[MediabotProcess]:
        return [self.bot, *self.workers]


@pytest.fixture(scope="module")
def deployment(
    fake_telegram: FakeTelegram,
    tmp_path_factory: pytest.TempPathFactory,
    make_amqp_vhost: Callable[[], str],
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("outages")
    with running_cluster() as postgres:
        database_url = asyncio.run(postgres.create_database("mediabot"))
        amqp_url = make_amqp_vhost()
        base = {
            "DATABASE_URL": database_url,
            "AMQP_URL": amqp_url,
            "WORKER_CONCURRENCY": "2",
            "PUBLISH_TIMEOUT_S": str(PUBLISH_TIMEOUT_S),
        }

        def start(command: str, name: str) -> MediabotProcess:
            env = mediabot_env(fake_telegram, root / name, **base)
            return MediabotProcess(command, env, root / f"{name}.log").start()

        migrate = start("migrate", "migrate")
        assert migrate.wait() == 0, migrate.log
        workers = [start("worker", f"worker-{n}") for n in range(2)]
        bot = start("bot", "bot")
        for process in (bot, *workers):
            process.wait_for_log("mediabot started")
        yield Deployment(postgres, bot, workers, unquote(amqp_url.rsplit("/", 1)[1]))
        stop_all([bot, *workers])


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "--quiet", *args], check=True, capture_output=True, timeout=60)


def _offers(chat: Conversation) -> list[ApiCall]:
    """The bot's messages in the chat that show an offer's buttons (audio only is in each)."""
    return [
        call
        for call in chat.calls("sendMessage", "editMessageText")
        if call.ok and "🎵" in _button_texts(call)
    ]


def _button_texts(call: ApiCall) -> str:
    markup = json.loads(call.params.get("reply_markup") or "{}")
    return " ".join(button["text"] for row in markup.get("inline_keyboard", []) for button in row)


def _files(chat: Conversation) -> list[ApiCall]:
    return [call for call in chat.calls(*_MEDIA_METHODS) if call.ok]


def _notices(chat: Conversation) -> list[ApiCall]:
    """The notices the chat got: a send refused by flood control (and retried) is not one."""
    return [
        call
        for call in chat.calls("sendMessage")
        if call.ok and NOTICE in call.params.get("text", "")
    ]


async def _offered(chat: Conversation, since: int, within: float = 90) -> Keyboard:
    return await chat.keyboard(since, within=within)


async def test_a_database_restart_loses_no_link_no_press_and_no_job(
    deployment: Deployment,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    fake_telegram.enforce_rate_limits = True
    # Before: users with buttons they will press during the outage, and jobs in flight.
    pressing = [Conversation(fake_telegram) for _ in range(10)]
    keyboards = [await _offered(chat, chat.say(media.audio_m4a)) for chat in pressing]
    in_flight = [Conversation(fake_telegram) for _ in range(3)]
    long_audio = media.path(media.long_audio_m4a)
    sources = [
        media_requests.add_file(f"/outage/long{number}.m4a", long_audio, "audio/mp4")
        for number in range(len(in_flight))
    ]
    flight_keyboards = [
        await _offered(chat, chat.say(url)) for chat, url in zip(in_flight, sources, strict=True)
    ]
    media_requests.throttle_bytes_per_second = 100_000  # the downloads span the stop
    flying = []
    for chat, keyboard in zip(in_flight, flight_keyboards, strict=True):
        chat.press(keyboard, keyboard.data("🎵"))
        flying.append(_request_of(keyboard.data("🎵")))
    await _until(lambda: all(_started(deployment, request) for request in flying), "jobs started")

    await asyncio.to_thread(deployment.postgres.stop)
    media_requests.throttle_bytes_per_second = None
    # During: new users send links (one of them two messages), the others press.
    linking = [Conversation(fake_telegram) for _ in range(40)]
    link_marks = [chat.say(media.audio_m4a) for chat in linking]
    twice = linking[0]
    second_mark = twice.say(media.progressive_mp4)
    press_marks = [
        chat.press(keyboard, keyboard.data("🎵"))
        for chat, keyboard in zip(pressing, keyboards, strict=True)
    ]
    await asyncio.sleep(OUTAGE_S)  # the outage itself, not a wait for the bot
    await asyncio.to_thread(deployment.postgres.start)

    # After: every link gets its buttons once, every press its file once.
    for chat, mark in zip(linking, link_marks, strict=True):
        keyboard = await _offered(chat, mark)
        await chat.media(chat.press(keyboard, keyboard.data("🎵")), within=120)
    await _offered(twice, second_mark)
    for chat, mark in zip(pressing, press_marks, strict=True):
        await chat.media(mark, within=120)
    for chat in in_flight:
        await chat.media(0, within=120)
    await asyncio.sleep(2)  # a second offer or file would show up by now
    for chat in linking[1:]:
        assert len(_offers(chat)) == 1, [call.params.get("text") for call in _offers(chat)]
    assert len(_offers(twice)) == 2
    for chat in (*linking, *pressing, *in_flight):
        assert len(_files(chat)) == 1, [call.method for call in _files(chat)]
    # Each user who waited was told once, however many of their updates waited.
    for chat in (*linking, *pressing):
        assert len(_notices(chat)) == 1, chat.chat_id
    for chat in in_flight:
        assert not _notices(chat)
    assert "holding updates until it answers" in deployment.bot.log
    for process in deployment.processes:
        assert process.running(), process.log[-3000:]


async def test_presses_during_a_broker_outage_are_published_when_it_is_back(
    deployment: Deployment, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    fake_telegram.enforce_rate_limits = True
    users = [Conversation(fake_telegram) for _ in range(6)]
    keyboards = [await _offered(chat, chat.say(media.progressive_mp4)) for chat in users]
    # The vhost refuses its user, and its connections are cut: every process of the
    # deployment tries to reconnect until the permission is back (other vhosts go on).
    _rabbitmqctl("clear_permissions", "-p", deployment.vhost, "guest")
    try:
        _rabbitmqctl("close_all_connections", "-p", deployment.vhost, "test: broker away")
        marks = [
            chat.press(keyboard, keyboard.data("360p"))
            for chat, keyboard in zip(users, keyboards, strict=True)
        ]
        # A link's lookup goes through the broker too: its chat is told to wait, once.
        late = Conversation(fake_telegram)
        late_since = late.say(media.audio_m4a)
        await asyncio.sleep(BROKER_OUTAGE_S)  # the outage itself, not a wait for the bot
    finally:
        _rabbitmqctl("set_permissions", "-p", deployment.vhost, "guest", ".*", ".*", ".*")
    await _offered(late, late_since, within=120)
    for chat, mark in zip(users, marks, strict=True):
        await chat.media(mark, within=120)
    await asyncio.sleep(2)  # a second file would show up by now
    for chat in users:
        assert len(_files(chat)) == 1
        assert len(_notices(chat)) == 1
        assert not [
            call for call in chat.calls("editMessageText") if "not available" in _text(call)
        ]
    assert len(_notices(late)) == 1
    # The presses outlived a publish's timeout: the bot's publishes failed, and were held.
    assert f"within {PUBLISH_TIMEOUT_S:g}s; the publish fails" in deployment.bot.log


def _text(call: ApiCall) -> str:
    return call.params.get("text", "").lower()


def _request_of(data: str) -> uuid.UUID:
    return uuid.UUID(hex=data.split(":")[1])


def _started(deployment: Deployment, request_id: uuid.UUID) -> bool:
    return any(f"job {request_id}: started" in worker.log for worker in deployment.workers)


async def _until(condition: Callable[[], bool], what: str, within: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"no {what} within {within:.0f} s")
        await asyncio.sleep(0.05)
