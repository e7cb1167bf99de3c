"""The pipeline sequencing the steps, over fakes of every port: the paths between steps."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.downloaders.errors import YouTubeBotCheckError
from mediabot.queue.base import DeferJobError
from mediabot.senders.base import StaleFileIdError
from mediabot.senders.cached import CachedPart
from mediabot.telegram.alerts import AdminAlerts
from mediabot.worker.request import CachedDelivery
from mediabot.worker.texts import sorry
from tests.worker.steps.worker_fakes import World, sent_part


def _leftovers(work_dir: Path) -> list[Path]:
    return list(work_dir.iterdir())


def _status(world: World) -> Any:
    [(_request, buttons, status)] = world.statuses.opened
    assert buttons
    return status


async def test_stale_cached_file_ids_fall_back_to_a_fresh_download(tmp_path: Path) -> None:
    world = World()
    hit = CachedDelivery(
        uuid.uuid4(), (CachedPart(MediaKind.AUDIO, "old-id"),), size_bytes=10, title="t"
    )
    world.requests.delivered = hit
    world.senders.cached_script = ((), StaleFileIdError("wrong file identifier"))
    world.senders.fresh_script = ([sent_part(0)], None)
    await world.pipeline(tmp_path).handle(Job(world.request.id))
    assert world.requests.dropped == [hit.id, world.request.id]
    # Asked once before the download; the twin check found none, so no second look.
    assert [call for call, _ in world.senders.calls] == ["cached", "fresh"]
    assert world.downloaders.downloader.downloads == 1
    assert world.state is RequestState.DELIVERED
    assert [part.file_id for part in world.requests.parts[world.request.id]] == ["file-0"]
    status = _status(world)
    assert status.removed and status.closed
    assert _leftovers(tmp_path) == []


async def test_a_blocked_chat_ends_its_requests_silently(tmp_path: Path) -> None:
    world = World(request=replace(World().request, chat_blocked=True))
    await world.pipeline(tmp_path).handle(Job(world.request.id))
    assert world.requests.ended_chats == [
        (world.request.chat_id, "chat unreachable: the chat was unreachable before")
    ]
    assert world.senders.calls == [] and _status(world).final is None


async def test_a_cancel_shows_cancelled(tmp_path: Path) -> None:
    world = World()

    async def cancelled_meanwhile(request_id: uuid.UUID, state: RequestState, **_: object) -> bool:
        world.requests.states[request_id] = RequestState.CANCELLED
        return False

    world.requests.set_state = cancelled_meanwhile  # type: ignore[method-assign]
    await world.pipeline(tmp_path).handle(Job(world.request.id))
    assert _status(world).final == "Cancelled."


async def test_the_dead_letter_fails_the_request_and_tells_the_user(tmp_path: Path) -> None:
    world = World()
    world.requests.states[world.request.id] = RequestState.DOWNLOADING
    world.requests.given_up[world.request.id] = world.request
    (tmp_path / str(world.request.id)).mkdir()
    await world.pipeline(tmp_path).on_dead_letter(Job(world.request.id, 4), "server busy")
    assert world.state is RequestState.FAILED
    assert world.requests.values[world.request.id]["error_reason"] == "server busy"
    [(_request, _buttons, status)] = world.statuses.opened
    assert status.final == f"❌ {sorry()}"
    assert _leftovers(tmp_path) == []


class _RecordingBot:
    """Stands in for aiogram's Bot where only `send_message` is used (the admins' warnings)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: object) -> None:
        self.sent.append((chat_id, text))


async def test_a_site_refusing_the_bot_is_told_to_the_user_and_once_to_the_admins(
    tmp_path: Path,
) -> None:
    bot = _RecordingBot()
    alerts = AdminAlerts((77,))
    for _ in range(2):
        world = World()
        world.downloaders.downloader.result = YouTubeBotCheckError(detail="[youtube] x: Sign in")
        pipeline = world.pipeline(tmp_path, bot, admin_alerts=alerts)
        await pipeline.handle(Job(world.request.id))
        assert world.state is RequestState.FAILED
        assert "not a robot" in (_status(world).final or "")
    [(admin, warning)] = bot.sent
    assert admin == 77 and "YOUTUBE_COOKIES_FILE" in warning


def _database_away() -> DBAPIError:
    return DBAPIError(
        "UPDATE", None, Exception("terminating connection"), connection_invalidated=True
    )


async def test_the_database_still_away_at_the_claim_brings_the_job_back_later(
    tmp_path: Path,
) -> None:
    """An outage longer than the store waits is nobody's failure: the job is deferred (no
    attempt used, never a dead letter), not retried."""
    world = World()
    pipeline = world.pipeline(tmp_path)

    async def claim_while_away(request_id: uuid.UUID, *, fair: bool = True) -> Any:
        raise _database_away()

    world.requests.claim = claim_while_away  # type: ignore[method-assign]
    with pytest.raises(DeferJobError, match="database"):
        await pipeline.handle(Job(world.request.id))


async def test_the_database_still_away_mid_delivery_defers_the_job_and_keeps_the_lease(
    tmp_path: Path,
) -> None:
    world = World()
    world.senders.fresh_script = ([sent_part(0)], None)

    async def record_while_away(request_id: uuid.UUID, part: Any) -> None:
        raise _database_away()

    world.requests.add_part = record_while_away  # type: ignore[method-assign]
    with pytest.raises(DeferJobError):
        await world.pipeline(tmp_path).handle(Job(world.request.id))
    assert world.requests.released == []  # nothing to release it with: the lease runs out
    assert _leftovers(tmp_path) == []
