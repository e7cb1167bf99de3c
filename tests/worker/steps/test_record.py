"""Step record: each part recorded as accepted; the next part shown; resume after the last."""

from __future__ import annotations

import pytest

from mediabot.domain.enums import RequestState
from mediabot.senders.base import ResumePoint
from mediabot.worker.steps.context import LeftOurHandsError
from mediabot.worker.steps.record import finish_delivery, part_recorder, resume_point
from tests.worker.steps.worker_fakes import World, sent_part


async def test_each_part_is_recorded_and_the_next_one_shown() -> None:
    world = World()
    on_part = part_recorder(world.job)
    await on_part(sent_part(0, total=3))
    await on_part(sent_part(1, total=3))
    await on_part(sent_part(2, total=3))
    assert [part.index for part in world.requests.parts[world.request.id]] == [0, 1, 2]
    assert world.status.shown == ["⬆️ Uploading part 2/3…", "⬆️ Uploading part 3/3…"]


async def test_a_delivery_resumes_after_the_last_part_accepted() -> None:
    world = World()
    assert await resume_point(world.job) is None
    world.requests.parts[world.request.id] = [sent_part(0, 3, end_s=10), sent_part(1, 3, 20)]
    assert await resume_point(world.job) == ResumePoint(next_index=2, start_s=20.0)


async def test_a_finished_delivery_takes_the_status_away() -> None:
    world = World()
    await finish_delivery(world.job, 2)
    assert world.state is RequestState.DELIVERED and world.status.removed
    assert world.job.ending


async def test_a_delivery_cancelled_meanwhile_leaves_our_hands() -> None:
    world = World()
    world.requests.states[world.request.id] = RequestState.CANCELLED
    with pytest.raises(LeftOurHandsError):
        await finish_delivery(world.job, 1)
    assert not world.status.removed
