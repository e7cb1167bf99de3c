"""Step wait for a twin: one download serves everyone asking for the same media."""

from __future__ import annotations

from mediabot.worker.steps.wait_for_twin import wait_for_twin
from tests.worker.steps.worker_fakes import World


async def test_without_a_twin_nothing_waits() -> None:
    world = World()
    assert await wait_for_twin(world.job, poll_s=0.001) is False
    assert world.status.shown == []


async def test_a_twin_is_waited_for_and_the_status_says_so() -> None:
    world = World()
    world.requests.twin_polls = 3
    assert await wait_for_twin(world.job, poll_s=0.001) is True
    assert world.status.shown == ["⏳ Fetching…"]
    assert world.requests.twin_polls == -1  # asked until the twin was done


async def test_a_twin_that_takes_too_long_is_waited_for_no_more() -> None:
    world = World()
    world.requests.twin_polls = 1000
    assert await wait_for_twin(world.job, poll_s=0.001, wait_s=0.005) is True
    assert world.requests.twin_polls > 900
