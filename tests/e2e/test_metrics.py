"""`METRICS_PORT`: a delivery through the fake Bot API moves the counters on `/metrics`."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.ports import free_port
from tests.support.processes import MediabotProcess, mediabot_env

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def metered(fake_telegram: FakeTelegram, tmp_path: Path) -> Iterator[tuple[MediabotProcess, int]]:
    port = free_port()
    env = mediabot_env(
        fake_telegram, tmp_path / "data", METRICS_PORT=str(port), TELEGRAM_UPLOAD_LIMIT_MB="2"
    )
    process = MediabotProcess("run", env, tmp_path / "mediabot.log").start()
    process.wait_for_log("mediabot started", timeout=120)
    yield process, port
    assert process.stop() == 0, process.log[-3000:]


async def test_a_delivery_moves_the_counters(
    metered: tuple[MediabotProcess, int], fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    _, port = metered
    before = await asyncio.to_thread(_scrape, port)
    assert ("mediabot_queue_depth", frozenset()) in before
    assert _value(before, "mediabot_active_jobs") == 0

    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    fake_telegram.fail_next("sendVideo", error_code=429, retry_after=1)
    sent = await chat.media(chat.press(keyboard, keyboard.data("360p")))
    assert sent.method == "sendVideo"
    await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage", 60
    )

    after: Samples = {}
    for _ in range(100):  # recorded as delivered, and the job ended, right after the send
        after = await asyncio.to_thread(_scrape, port)
        delivered = _value(after, "mediabot_requests_total", **_DELIVERED)
        if delivered and not _value(after, "mediabot_active_jobs"):
            break
        await asyncio.sleep(0.1)
    assert _value(after, "mediabot_requests_total", **_DELIVERED) == 1
    assert _value(after, "mediabot_press_to_file_seconds_count", provider="generic") == 1
    assert _value(after, "mediabot_download_seconds_count", provider="generic") == 1
    assert _value(after, "mediabot_download_bytes_sum", provider="generic") > 10_000
    assert _value(after, "mediabot_upload_bytes_count", method="sendVideo") == 1
    assert _value(after, "mediabot_upload_bytes_sum", method="sendVideo") > 10_000
    assert _value(after, "mediabot_upload_seconds_count", method="sendVideo") == 1
    assert _value(after, "mediabot_cache_lookups_total", result="miss") >= 1
    assert _value(after, "mediabot_telegram_errors_total", method="sendVideo", code="429") == 1
    assert _value(after, "mediabot_rate_wait_seconds_count") > _value(
        before, "mediabot_rate_wait_seconds_count"
    )
    assert _value(after, "mediabot_active_jobs") == 0


async def test_a_delivery_streamed_in_parts_counts_as_a_download(
    metered: tuple[MediabotProcess, int], fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    """A file over the limit is cut straight from the source: no download step, but the
    stream is the download, timed and counted in bytes like one."""
    _, port = metered
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.long_mp4))
    since = chat.press(keyboard, keyboard.data("720p"))
    await chat.telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage", 120, since=since
    )
    parts = [call for call in chat.calls("sendVideo") if call.ok]
    assert len(parts) >= 4
    after: Samples = {}
    for _ in range(100):
        after = await asyncio.to_thread(_scrape, port)
        if _value(after, "mediabot_requests_total", **_DELIVERED):
            break
        await asyncio.sleep(0.1)
    assert _value(after, "mediabot_download_seconds_count", provider="generic") == 1
    uploaded = _value(after, "mediabot_upload_bytes_sum", method="sendVideo")
    assert _value(after, "mediabot_upload_bytes_count", method="sendVideo") == len(parts)
    assert _value(after, "mediabot_download_bytes_sum", provider="generic") == pytest.approx(
        uploaded, rel=0.01
    )


_DELIVERED = {"provider": "generic", "kind": "video", "outcome": "delivered"}
