"""End to end (`mediabot run`): a flood wait longer than the lease is sat out and told, and
no ending leaves anything in `DATA_DIR/work`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.conversation import Conversation
from tests.support.fake_telegram import FakeTelegram
from tests.support.media import MediaSources
from tests.support.media_server import MediaServer
from tests.support.processes import MediabotProcess, mediabot_env

RETRY_AFTER_S = 5
LEASE_S = 2


@pytest.fixture(scope="module")
def worker_run(
    fake_telegram: FakeTelegram, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[MediabotProcess, Path]]:
    """One `mediabot run` with a 2 s lease, so a 5 s flood wait outlives it."""
    data_dir = tmp_path_factory.mktemp("worker-run")
    env = mediabot_env(fake_telegram, data_dir, JOB_LEASE_S=str(LEASE_S))
    process = MediabotProcess("run", env, data_dir / "mediabot.log").start()
    process.wait_for_log("mediabot started")
    yield process, data_dir / "work"
    assert process.stop() == 0, process.log[-3000:]


def _leftovers(work_dir: Path) -> list[Path]:
    return sorted(work_dir.rglob("*")) if work_dir.exists() else []


async def test_a_flood_wait_longer_than_the_lease_is_sat_out_and_told(
    worker_run: tuple[MediabotProcess, Path], fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    process, work_dir = worker_run
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.progressive_mp4))
    fake_telegram.fail_next("sendVideo", error_code=429, retry_after=RETRY_AFTER_S)
    since = chat.press(keyboard, keyboard.data("360p"))
    await chat.final_text(since, "Telegram asks me to wait", within=30)
    await chat.media(since, within=60)
    assert [call.status for call in chat.calls("sendVideo")] == [429, 200]
    await fake_telegram.wait_for(
        lambda call: chat.in_chat(call) and call.method == "deleteMessage", since=since
    )
    assert "unexpected failure" not in process.log
    assert "attempt 2" not in process.log
    await _nothing_left(work_dir)


async def test_a_download_that_fails_after_the_offer_leaves_nothing_behind(
    worker_run: tuple[MediabotProcess, Path],
    fake_telegram: FakeTelegram,
    media: MediaSources,
    media_requests: MediaServer,
) -> None:
    _, work_dir = worker_run
    chat = Conversation(fake_telegram)
    body = media.path(media.progressive_mp4).read_bytes()
    vanishing = media_requests.add_route(
        "/vanishing/video.mp4", body=body, headers={"Content-Type": "video/mp4"}
    )
    keyboard = await chat.keyboard(chat.say(vanishing))
    media_requests.clear_routes()  # gone by the time the worker downloads it
    since = chat.press(keyboard, keyboard.data("360p"))
    await chat.final_text(since, "❌", within=60)
    await _nothing_left(work_dir)


async def test_a_delivery_leaves_nothing_behind(
    worker_run: tuple[MediabotProcess, Path], fake_telegram: FakeTelegram, media: MediaSources
) -> None:
    _, work_dir = worker_run
    chat = Conversation(fake_telegram)
    keyboard = await chat.keyboard(chat.say(media.audio_m4a))
    await chat.media(chat.press(keyboard, keyboard.data("🎵")), within=60)
    await _nothing_left(work_dir)


async def _nothing_left(work_dir: Path, within_s: float = 5) -> None:
    """The work folder empties as the job ends (just after the user hears of it)."""
    for _ in range(int(within_s / 0.1)):
        if not _leftovers(work_dir):
            return
        await asyncio.sleep(0.1)
    assert _leftovers(work_dir) == []
