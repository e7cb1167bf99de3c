"""End to end in the production layout (see `tests.e2e.cluster`): deliveries through
RabbitMQ, and a worker killed, stopped or cut off from the broker mid-job."""

from __future__ import annotations

import asyncio

from mediabot.media.probe import probe
from tests.e2e.cluster import Cluster, ask, press
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer


async def test_link_to_720p_video_through_rabbitmq(
    cluster: Cluster, fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    chat = Conversation(fake_telegram)
    since, _ = await ask(chat, media.dash_mpd, "720p")
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
    delivered = await first.media((await ask(first, media.audio_m4a, "🎵"))[0])
    second = Conversation(fake_telegram)
    keyboard = await second.keyboard(second.say(media.audio_m4a))
    media_requests.reset()
    resent = await second.media(second.press(keyboard, keyboard.data("🎵")))
    assert resent.sent_file == delivered.result["audio"]["file_id"]
    assert media_requests.request_count() == 0


async def test_a_worker_killed_mid_download_is_replaced_and_delivers_once(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    media_requests.throttle_bytes_per_second = 100_000  # a few seconds per download
    since, request_id = press(chat, keyboard, "360p")
    victim = await cluster.started_by(request_id)
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
    cluster.replenish()


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
    keyboards = [
        await chat.keyboard(chat.say(url)) for chat, (url, _) in zip(chats, wanted, strict=True)
    ]
    media_requests.throttle_bytes_per_second = 400_000
    marks = [
        press(chat, keyboard, button)
        for chat, keyboard, (_, button) in zip(chats, keyboards, wanted, strict=True)
    ]
    await asyncio.sleep(0.5)
    dropped = await asyncio.create_subprocess_exec(
        *("rabbitmqctl", "--quiet", "close_all_connections", "-p", cluster.vhost, "test: dropped")
    )
    assert await dropped.wait() == 0
    media_requests.throttle_bytes_per_second = None
    # Requests pressed while the connections come back are not lost either.
    late = Conversation(fake_telegram)
    late_since, _ = await ask(late, media.hls_master, "360p")
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
    keyboard = await chat.keyboard(chat.say(media.long_audio_m4a))
    media_requests.throttle_bytes_per_second = 20_000  # longer than the grace
    since, request_id = press(chat, keyboard, "🎵")
    stopping = await cluster.started_by(request_id)
    await asyncio.sleep(0.5)
    assert await asyncio.to_thread(stopping.stop) == 0
    cluster.workers.remove(stopping)
    assert "handing back" in stopping.log
    media_requests.throttle_bytes_per_second = None
    sent = await chat.media(since, within=60)
    assert sent.method == "sendAudio"
    await asyncio.sleep(1)
    assert len([call for call in chat.calls("sendAudio") if call.ok]) == 1
    cluster.replenish()
