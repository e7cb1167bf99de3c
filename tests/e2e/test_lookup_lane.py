"""The lookup lane end to end in the production layout (`tests.e2e.cluster`): the bot
publishes, a worker looks up and answers; one message for a quick answer, one lookup for a
link many users send at once, one keyboard when a worker dies mid-lookup."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from pathlib import Path

from tests.e2e.cluster import Cluster
from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer


def _fresh_manifest(media: MediaSources, server: MediaServer) -> tuple[str, str]:
    """A link no one has sent yet: the DASH manifest under a new name beside its segments;
    its URL and its path on the server."""
    relative = media.dash_mpd.removeprefix(media.base_url + "/")
    folder = relative.rsplit("/", 1)[0]
    path = f"{folder}/fresh-{uuid.uuid4().hex[:8]}.mpd"
    return server.add_file(path, Path(media.dir) / relative, "application/dash+xml"), path


def _last_asked(cluster: Cluster) -> uuid.UUID:
    """The lookup request the bot recorded last."""
    asked = re.findall(r"lookup ([0-9a-f-]{36}): \d+ link\(s\) asked for", cluster.bot.log)
    return uuid.UUID(asked[-1])


async def test_a_quick_lookup_is_answered_with_the_keyboard_alone(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    warm_up = Conversation(fake_telegram)
    await warm_up.keyboard(warm_up.say(media.dash_mpd))  # lookup processes started
    chat = Conversation(fake_telegram)
    url, _ = _fresh_manifest(media, media_requests)
    keyboard = await chat.keyboard(chat.say(url))
    await asyncio.sleep(1)  # a late placeholder or a second answer would show up by now
    [answer] = chat.calls("sendMessage", "editMessageText")
    assert answer.method == "sendMessage" and answer.result["message_id"] == keyboard.message_id
    assert "720p" in "".join(keyboard.buttons)


async def test_a_link_sent_by_many_users_at_once_is_looked_up_once(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    alone, alone_path = _fresh_manifest(media, media_requests)
    chat = Conversation(fake_telegram)
    await chat.keyboard(chat.say(alone))
    one_lookup = media_requests.request_count(alone_path)
    assert one_lookup >= 1

    viral, viral_path = _fresh_manifest(media, media_requests)
    chats = [Conversation(fake_telegram) for _ in range(24)]
    sent = [chat.say(viral) for chat in chats]
    keyboards = await asyncio.gather(
        *(chat.keyboard(since) for chat, since in zip(chats, sent, strict=True))
    )
    assert len({keyboard.message_id for keyboard in keyboards}) >= 1
    assert all("720p" in "".join(keyboard.buttons) for keyboard in keyboards)
    assert media_requests.request_count(viral_path) == one_lookup
    shared = sum(
        worker.log.count(f"{viral}: answered by a shared lookup") for worker in cluster.workers
    )
    assert shared >= 1


async def test_a_worker_killed_mid_lookup_still_gives_one_keyboard(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    chat = Conversation(fake_telegram)
    url, _ = _fresh_manifest(media, media_requests)
    media_requests.throttle_bytes_per_second = 100  # the manifest takes a minute to read
    since = chat.say(url)
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and "Looking up" in call.params.get("text", ""),
        30,
        since=since,
    )
    request_id = _last_asked(cluster)
    [victim] = [w for w in cluster.workers if f"lookup {request_id}: started" in w.log]
    victim.kill()
    cluster.workers.remove(victim)
    media_requests.throttle_bytes_per_second = None
    keyboard = await chat.keyboard(since, within=90)
    await asyncio.sleep(1)  # a second answer would show up by now
    answers = [
        call
        for call in chat.calls("sendMessage", "editMessageText")
        if "inline_keyboard" in call.params.get("reply_markup", "")
    ]
    assert len(answers) == 1 and answers[0].method == "editMessageText"
    assert keyboard.message_id == answers[0].result["message_id"]
    [survivor] = [w for w in cluster.workers if f"lookup {request_id}: started" in w.log]
    assert survivor is not victim
    cluster.replenish()


async def test_an_inline_query_is_answered_by_a_worker(
    cluster: Cluster,
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    url, _ = _fresh_manifest(media, media_requests)
    query_id = fake_telegram.inject_inline_query(920_000_001, url)
    answer = await fake_telegram.wait_for(
        lambda call: (
            call.method == "answerInlineQuery" and call.params.get("inline_query_id") == query_id
        ),
        30,
    )
    titles = [result["title"] for result in json.loads(answer.params["results"])]
    assert titles[:3] == ["🎬 Video 1080p", "🎬 Video 720p", "🎬 Video 360p"]
    asked = _last_asked(cluster)
    [answered_by] = [w for w in cluster.workers if f"lookup {asked}: started" in w.log]
    assert "inline offer" in answered_by.log
