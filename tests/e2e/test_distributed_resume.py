"""End to end in the production layout (see `tests.e2e.cluster`): a worker killed mid-playlist
or mid-stream, and another one going on from where it was, each item and part once.

Apart from `test_distributed.py` so that the two clusters run in parallel workers."""

from __future__ import annotations

import asyncio

import pytest

from mediabot.media.probe import probe
from tests.e2e.cluster import Cluster, press
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.feeds import distinct_items, podcast_feed
from tests.support.media import LONG_DURATION, SEGMENTED_DURATION, MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess


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
    cluster.replenish()


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
    keyboard = await chat.keyboard(chat.say(url))
    media_requests.throttle_bytes_per_second = 1_000_000  # about 2 s a part
    since, request_id = press(chat, keyboard, button)
    victim = await cluster.started_by(request_id)
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
    cluster.replenish()


async def test_a_worker_killed_mid_upload_of_one_file_leaves_it_to_another_once(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """A source that fits one upload goes up while it is fetched; the worker is killed
    while the upload is under way (nothing accepted yet), and another one delivers the
    file: one message, the whole media."""
    chat = Conversation(fake_telegram)
    stored = fake_telegram.stored_upload_bytes()
    keyboard = await chat.keyboard(chat.say(media.long_audio_m4a))
    media_requests.throttle_bytes_per_second = 300_000  # about 5 s for the 1.5 MB
    since, request_id = press(chat, keyboard, "🎵")
    victim = await cluster.started_by(request_id)
    for _ in range(600):  # the body has begun to arrive: the upload is under way
        if fake_telegram.stored_upload_bytes() > stored:
            break
        await asyncio.sleep(0.05)
    victim.kill()
    cluster.workers.remove(victim)
    assert not [call for call in chat.calls("sendAudio") if call.ok]
    assert "as one file" in victim.log
    media_requests.throttle_bytes_per_second = None
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "sendAudio" and call.ok,
        timeout=120,
        since=since,
    )
    survivor = cluster.worker_of(request_id)
    assert survivor is not None and survivor is not victim
    await asyncio.sleep(1)  # a second delivery would show up by now
    sends = [call for call in chat.calls("sendAudio") if call.ok]
    assert len(sends) == 1
    info = await probe(fake_telegram.uploaded_path(sends[0].result["audio"]["file_id"]))
    assert info.is_playable and info.duration_s == pytest.approx(LONG_DURATION, abs=0.1)
    cluster.replenish()


async def test_a_worker_killed_mid_fetch_while_a_twin_waits_leaves_each_user_one_file(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    """Two users press the same media; the worker fetching it for the first is killed (-9)
    while the second's job waits for that fetch (in the cached lane, of either worker). The
    first's request is taken up again, and each user gets the file once, uploaded once."""
    url = media_requests.add_file(
        "/twinkill/audio.m4a", media.path(media.long_audio_m4a), "audio/mp4"
    )
    first, second = Conversation(fake_telegram), Conversation(fake_telegram)
    first_keys = await first.keyboard(first.say(url))
    second_keys = await second.keyboard(second.say(url))
    stored = fake_telegram.stored_upload_bytes()
    media_requests.throttle_bytes_per_second = 200_000  # about 8 s for the 1.5 MB
    first_since, first_id = press(first, first_keys, "🎵")
    victim = await cluster.started_by(first_id)
    second_since, second_id = press(second, second_keys, "🎵")
    moved = f"job {second_id}: a twin is being fetched; on to the cached lane"
    for _ in range(600):  # the second waits for the first's fetch (on either worker)
        if any(moved in worker.log for worker in cluster.workers):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the second press never waited for its twin")
    for _ in range(600):  # the body has begun to arrive: the fetch is under way
        if fake_telegram.stored_upload_bytes() > stored:
            break
        await asyncio.sleep(0.05)
    victim.kill()
    cluster.workers.remove(victim)
    media_requests.throttle_bytes_per_second = None
    sent = [
        await first.media(first_since, within=120),
        await second.media(second_since, within=120),
    ]
    await asyncio.sleep(1)  # a second delivery would show up by now
    for chat in (first, second):
        assert len([c for c in chat.calls("sendAudio", "editMessageMedia") if c.ok]) == 1
    assert [bool(call.files) for call in sent].count(True) == 1, "one upload, one resend"
    assert len({call.result["audio"]["file_unique_id"] for call in sent}) == 1
    info = await probe(fake_telegram.uploaded_path(sent[0].result["audio"]["file_id"]))
    assert info.is_playable and info.duration_s == pytest.approx(LONG_DURATION, abs=0.1)
    cluster.replenish()
