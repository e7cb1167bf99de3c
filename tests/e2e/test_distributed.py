"""End to end in the production layout: PostgreSQL, RabbitMQ, one bot and two workers.

The processes run the same commands as the Compose services (`migrate`, `bot`,
`worker`), against the local PostgreSQL and RabbitMQ.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from mediabot.media.probe import probe
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.feeds import distinct_items, podcast_feed
from tests.support.media import LONG_DURATION, SEGMENTED_DURATION, MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_env

LIMIT_MB = 2


@dataclass
class Cluster:
    bot: MediabotProcess
    workers: list[MediabotProcess]
    vhost: str
    start: Callable[[str, str], MediabotProcess]

    def worker_of(self, request_id: uuid.UUID) -> MediabotProcess | None:
        """The running worker that has started working on this request, if any."""
        for worker in self.workers:
            if worker.running() and f"job {request_id}: started" in worker.log:
                return worker
        return None


@pytest.fixture(scope="module")
def cluster(
    fake_telegram: FakeTelegram,
    tmp_path_factory: pytest.TempPathFactory,
    make_pg_database: Callable[[], str],
    make_amqp_vhost: Callable[[], str],
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    amqp_url = make_amqp_vhost()
    base = {
        "DATABASE_URL": make_pg_database().replace("+asyncpg", ""),
        "AMQP_URL": amqp_url,
        "TELEGRAM_UPLOAD_LIMIT_MB": str(LIMIT_MB),
        "JOB_LEASE_S": "4",
        "WORKER_CONCURRENCY": "1",
    }
    migrate = MediabotProcess(
        "migrate", mediabot_env(fake_telegram, root / "migrate", **base), root / "migrate.log"
    ).start()
    assert migrate.wait() == 0, migrate.log

    def start(command: str, name: str) -> MediabotProcess:
        env = mediabot_env(fake_telegram, root / name, **base)
        return MediabotProcess(command, env, root / f"{name}.log").start()

    workers = [start("worker", f"worker-{n}") for n in range(2)]
    bot = start("bot", "bot")
    for process in (bot, *workers):
        process.wait_for_log("mediabot started")
    yield Cluster(bot, workers, amqp_url.rsplit("/", 1)[1], start)
    for process in (bot, *workers):
        if process.running():
            assert process.stop() == 0, process.log[-3000:]


async def _request(chat: Conversation, url: str, button: str) -> tuple[int, uuid.UUID]:
    """Send a link, press a button; the call index to search from and the request id."""
    keyboard = await chat.keyboard(chat.say(url))
    data = keyboard.data(button)
    return chat.press(keyboard, data), uuid.UUID(hex=data.split(":")[1])


async def test_link_to_720p_video_through_rabbitmq(
    cluster: Cluster, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    since, _ = await _request(chat, media.dash_mpd, "720p")
    sent = await chat.media(since)
    info = await probe(fake_telegram.uploaded_path(sent.result["video"]["file_id"]))
    assert info.video is not None and info.video.height == 720 and info.audio is not None


async def test_another_user_gets_the_cached_file_without_a_download(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    first = Conversation(fake_telegram)
    delivered = await first.media((await _request(first, media.audio_m4a, "🎵"))[0])
    second = Conversation(fake_telegram)
    keyboard = await second.keyboard(second.say(media.audio_m4a))
    media_requests.reset()
    resent = await second.media(second.press(keyboard, keyboard.data("🎵")))
    assert resent.params["audio"] == delivered.result["audio"]["file_id"]
    assert media_requests.request_count() == 0


def _replenish(cluster: Cluster) -> None:
    """Start a worker in place of one the test stopped, for the tests after it."""
    replacement = cluster.start("worker", f"worker-{uuid.uuid4().hex[:6]}")
    replacement.wait_for_log("mediabot started")
    cluster.workers.append(replacement)


async def _worker_of(cluster: Cluster, request_id: uuid.UUID) -> MediabotProcess:
    for _ in range(600):
        worker = cluster.worker_of(request_id)
        if worker is not None:
            return worker
        await asyncio.sleep(0.05)
    raise AssertionError(f"no worker started {request_id}")


async def test_a_worker_killed_mid_download_is_replaced_and_delivers_once(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    media_requests.throttle_bytes_per_second = 100_000  # a few seconds per download
    since, request_id = await _request(chat, media.progressive_mp4, "360p")
    victim = await _worker_of(cluster, request_id)
    await asyncio.sleep(0.5)  # well into the download
    victim.kill()
    cluster.workers.remove(victim)
    media_requests.throttle_bytes_per_second = None
    sent = await chat.media(since, within=90)
    assert sent.method == "sendVideo"
    survivor = cluster.worker_of(request_id)
    assert survivor is not None and survivor is not victim
    await asyncio.sleep(1)  # a second delivery would show up by now
    assert len([call for call in chat.calls("sendVideo") if call.ok]) == 1
    _replenish(cluster)


async def test_a_dropped_broker_connection_loses_nothing(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    wanted = [
        (media.dash_mpd, "360p"),
        (media.dash_mpd, "1080p"),
        (media.hls_master, "720p"),
        (media.progressive_mp4, "🎵"),
    ]
    chats = [Conversation(fake_telegram) for _ in wanted]
    media_requests.throttle_bytes_per_second = 400_000
    marks = [
        await _request(chat, url, button) for chat, (url, button) in zip(chats, wanted, strict=True)
    ]
    await asyncio.sleep(0.5)
    dropped = await asyncio.create_subprocess_exec(
        *("rabbitmqctl", "--quiet", "close_all_connections", "-p", cluster.vhost, "test: dropped")
    )
    assert await dropped.wait() == 0
    media_requests.throttle_bytes_per_second = None
    # Requests pressed while the connections come back are not lost either.
    late = Conversation(fake_telegram)
    late_since, _ = await _request(late, media.hls_master, "360p")
    for chat, (since, _) in zip(chats, marks, strict=True):
        await chat.media(since, within=120)
    await late.media(late_since, within=120)
    await asyncio.sleep(1)
    for chat in (*chats, late):
        sends = [call for call in chat.calls("sendVideo", "sendAudio") if call.ok]
        assert len(sends) == 1, [call.method for call in sends]


async def test_sigterm_hands_the_job_back_and_exits_cleanly(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """A worker told to stop mid-job (grace 5 s) hands it back; another one delivers it."""
    chat = Conversation(fake_telegram)
    media_requests.throttle_bytes_per_second = 20_000  # longer than the grace
    since, request_id = await _request(chat, media.long_audio_m4a, "🎵")
    stopping = await _worker_of(cluster, request_id)
    await asyncio.sleep(0.5)
    assert await asyncio.to_thread(stopping.stop) == 0
    cluster.workers.remove(stopping)
    assert "handing back" in stopping.log
    media_requests.throttle_bytes_per_second = None
    sent = await chat.media(since, within=60)
    assert sent.method == "sendAudio"
    await asyncio.sleep(1)
    assert len([call for call in chat.calls("sendAudio") if call.ok]) == 1
    _replenish(cluster)


async def _first_to_start(cluster: Cluster, marks: dict[int, int]) -> MediabotProcess:
    """The worker that starts a job first after `marks` (each worker's log length then)."""
    for _ in range(600):
        for worker in cluster.workers:
            if ": started" in worker.log[marks[id(worker)] :]:
                return worker
        await asyncio.sleep(0.05)
    raise AssertionError("no worker started a job")


async def test_a_worker_killed_mid_playlist_leaves_the_rest_to_another_each_once(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    items = distinct_items(media_requests, media, "plk", 3)
    feed = podcast_feed(media_requests, "/plk.xml", items)
    keyboard = await chat.keyboard(chat.say(feed), within=60)
    marks = {id(worker): len(worker.log) for worker in cluster.workers}
    media_requests.throttle_bytes_per_second = 100_000  # a few seconds per download
    since = chat.press(keyboard, keyboard.data("🎵"))
    victim = await _first_to_start(cluster, marks)
    await asyncio.sleep(0.5)  # well into the first item
    victim.kill()
    cluster.workers.remove(victim)
    media_requests.throttle_bytes_per_second = None
    done = await chat.final_text(since, "Playlist done", within=180)
    assert "3 of 3 delivered" in done.params["text"]
    await asyncio.sleep(1)  # a second delivery of an item would show up by now
    sends = [call for call in chat.calls("sendAudio") if call.ok]
    assert len(sends) == 3
    assert len({call.params.get("title") for call in sends}) == 3, [c.params for c in sends]
    _replenish(cluster)


@pytest.mark.parametrize(
    ("source", "button"), [("mp4", "720p"), ("hls-ts", "360p"), ("dash", "360p")]
)
async def test_a_worker_killed_mid_stream_is_resumed_by_another_at_the_next_part(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
    source: str,
    button: str,
) -> None:
    """A source over the limit is streamed into parts; the worker is killed once part 1
    is in the chat, and another one sends the rest, starting after it: each part once."""
    url = media.long_mp4 if source == "mp4" else media.segmented[source]
    chat = Conversation(fake_telegram)
    media_requests.throttle_bytes_per_second = 1_000_000  # about 2 s a part
    since, request_id = await _request(chat, url, button)
    victim = await _worker_of(cluster, request_id)
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendVideo" and call.ok,
        timeout=60,
        since=since,
    )
    await asyncio.sleep(0.2)  # recorded: one statement after Telegram's answer
    victim.kill()
    cluster.workers.remove(victim)
    assert "streaming" in victim.log
    media_requests.throttle_bytes_per_second = None
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage",
        timeout=120,
        since=since,
    )
    survivor = cluster.worker_of(request_id)
    assert survivor is not None and survivor is not victim
    assert f"job {request_id}: resuming at part" in survivor.log
    await asyncio.sleep(1)  # a part sent twice would show up by now
    parts = [call for call in chat.calls("sendVideo") if call.ok]
    captions = [call.params["caption"] for call in parts]
    assert len(parts) >= 3
    assert [f"Part {n}/{len(parts)}" in caption for n, caption in enumerate(captions, 1)] == [
        True
    ] * len(parts), captions
    total = 0.0
    for call in parts:
        info = await probe(fake_telegram.uploaded_path(call.result["video"]["file_id"]))
        assert info.is_playable and info.video is not None
        total += info.duration_s or 0
    duration = LONG_DURATION if source == "mp4" else SEGMENTED_DURATION
    assert total == pytest.approx(duration, abs=1.5)
    _replenish(cluster)
