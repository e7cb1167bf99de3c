"""Every ending of a request: what the user sees last, what the database says, and that
nothing is left in the work folder (delivered, failed, refused, cancelled, given up)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.base import RetryJobError
from mediabot.telegram.errors import CHAT_CLOSED, FILE_REFUSED
from mediabot.worker.progress import EDIT_INTERVAL_S
from mediabot.worker.texts import cancelled, sorry
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.worker.worker_bench import WorkerBench, until_state

pytestmark = pytest.mark.integration


async def _cancel(bench: WorkerBench, request_id: uuid.UUID) -> None:
    """What the bot does on the cancel button: the state, then "Cancelled." in the status."""
    async with bench.sessions.begin() as session:
        from mediabot.db.repositories import RequestRows

        await RequestRows(session).set_state(request_id, RequestState.CANCELLED)
    file = await bench.file(request_id)
    assert file.status_message_id is not None
    await bench.bot.edit_message_text(
        cancelled(), chat_id=file.chat.telegram_id, message_id=file.status_message_id
    )


async def test_a_delivery_leaves_nothing_behind(bench: WorkerBench, media: MediaSources) -> None:
    request = await bench.request(media.audio_m4a)
    await bench.pipeline().handle(Job(request))
    file = await bench.file(request)
    assert file.state is RequestState.DELIVERED and file.attempts == 1
    assert bench.leftovers() == []


async def test_a_failed_download_tells_the_user_and_leaves_nothing_behind(
    bench: WorkerBench, media: MediaSources
) -> None:
    request = await bench.request(f"{media.base_url}/no/such/video.mp4")
    await bench.pipeline().handle(Job(request))
    file = await bench.file(request)
    assert file.state is RequestState.FAILED and file.error_reason
    assert bench.status_texts(file.chat.telegram_id)[-1].startswith("❌")
    assert bench.leftovers() == []


async def test_a_job_given_up_tells_the_user_and_leaves_nothing_behind(
    bench: WorkerBench, media_requests: MediaServer
) -> None:
    busy = media_requests.add_route("/busy/video.mp4", status=503, body="try later")
    request = await bench.request(busy)
    pipeline = bench.pipeline()
    with pytest.raises(RetryJobError):
        await pipeline.handle(Job(request))
    assert bench.leftovers() == []
    await pipeline.on_dead_letter(Job(request, attempt=4), "HTTP 503")
    file = await bench.file(request)
    assert file.state is RequestState.FAILED
    assert bench.status_texts(file.chat.telegram_id)[-1] == f"❌ {sorry()}"
    assert bench.leftovers() == []


async def test_telegram_refusing_the_file_is_told_in_words_not_telegrams(
    bench: WorkerBench, media: MediaSources
) -> None:
    request = await bench.request(media.audio_m4a)
    bench.telegram.fail_next(
        "sendAudio", error_code=400, description="Bad Request: VIDEO_CONTENT_TYPE_INVALID"
    )
    await bench.pipeline().handle(Job(request))
    file = await bench.file(request)
    assert file.state is RequestState.FAILED
    assert "VIDEO_CONTENT_TYPE_INVALID" in (file.error_reason or "")  # the detail is kept
    last = bench.status_texts(file.chat.telegram_id)[-1]
    assert last == f"❌ {FILE_REFUSED}"
    assert "Bad Request" not in last
    assert bench.leftovers() == []


async def test_a_blocked_bot_ends_the_chats_requests_without_a_word(
    bench: WorkerBench, media: MediaSources
) -> None:
    chat = 820_000_001
    first = await bench.request(media.audio_m4a, chat=chat, user=chat)
    second = await bench.request(media.progressive_mp4, chat=chat, user=chat)
    bench.telegram.block_chat(chat)
    mark = len(bench.telegram.calls)
    pipeline = bench.pipeline()
    await pipeline.handle(Job(first))
    after_first = len(bench.telegram.calls)
    later = await bench.request(media.audio_m4a, chat=chat, user=chat, with_status=False)
    # The user's chat upsert above lifted the block (the chat "wrote"); block it again the
    # way the worker records it, and see a request for it end without any Telegram call.
    async with bench.sessions.begin() as session:
        from mediabot.db.repositories import ChatRepository

        row = await ChatRepository(session).by_telegram_id(chat)
        assert row is not None
        await ChatRepository(session).mark_blocked(row.id)
    await pipeline.handle(Job(second))
    await pipeline.handle(Job(later))

    for request in (first, second):
        file = await bench.file(request)
        assert file.state is RequestState.FAILED
        assert "blocked" in (file.error_reason or "")
    file = await bench.file(later)
    assert file.state is RequestState.FAILED and file.chat.blocked_at is not None
    calls = bench.telegram.calls[mark:]
    # One refused send, then silence: no apology to a chat that blocked the bot.
    assert [call.status for call in calls[: after_first - mark]].count(403) >= 1
    assert calls[after_first - mark :] == []
    assert not any(CHAT_CLOSED in call.params.get("text", "") for call in calls)
    assert not any(call.ok and call.method == "editMessageText" for call in calls)
    assert bench.leftovers() == []


async def test_cancel_during_the_download_is_the_last_word(
    bench: WorkerBench, media: MediaSources, media_requests: MediaServer
) -> None:
    media_requests.throttle_bytes_per_second = 200_000
    request = await bench.request(media.long_mp4, kind=MediaKind.VIDEO, resolution=720)
    job = asyncio.create_task(bench.pipeline().handle(Job(request)))
    await until_state(bench, request, RequestState.DOWNLOADING)
    await asyncio.sleep(0.5)
    await _cancel(bench, request)
    await asyncio.wait_for(job, 15)
    media_requests.throttle_bytes_per_second = None
    file = await bench.file(request)
    assert file.state is RequestState.CANCELLED
    assert bench.status_texts(file.chat.telegram_id)[-1] == cancelled()
    assert bench.leftovers() == []


async def test_cancel_during_the_upload_stays_cancelled(
    bench: WorkerBench, media: MediaSources
) -> None:
    """No progress edit reaches the status message after its final "Cancelled."."""
    bench.telegram.latency = 0.4  # uploads of the parts take a while
    request = await bench.request(media.long_mp4, kind=MediaKind.VIDEO, resolution=720)
    pipeline = bench.pipeline(upload_limit_bytes=2 * 1024 * 1024)
    job = asyncio.create_task(pipeline.handle(Job(request)))
    await bench.telegram.wait_for(lambda call: call.method == "sendVideo" and call.ok, 60)
    file = await bench.file(request)
    await _cancel(bench, request)
    await asyncio.wait_for(job, 15)
    # A late edit would come within the edit interval.
    await asyncio.sleep(EDIT_INTERVAL_S + 1)
    texts = bench.status_texts(file.chat.telegram_id)
    assert texts[-1] == cancelled(), texts
    stored = bench.telegram.sent_messages(file.chat.telegram_id)
    status = next(m for m in stored if m["message_id"] == file.status_message_id)
    assert status["text"] == cancelled()
    assert (await bench.file(request)).state is RequestState.CANCELLED
    assert bench.leftovers() == []
