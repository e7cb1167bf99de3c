"""Passing a job between the lanes: published where it goes, or brought back later."""

from __future__ import annotations

import uuid

import pytest

from mediabot.domain.jobs import Job
from mediabot.queue.base import DeferJobError
from mediabot.worker.lanes import Lane, Lanes


async def test_a_job_goes_to_the_lane_it_is_passed_to() -> None:
    main: list[Job] = []
    cached: list[Job] = []

    async def to_main(job: Job) -> None:
        main.append(job)

    async def to_cached(job: Job) -> None:
        cached.append(job)

    lanes = Lanes(hand_over=to_main, to_cached_lane=to_cached)
    job = Job(uuid.uuid4())
    await lanes.publish(job, Lane.MAIN)
    await lanes.publish(job, Lane.CACHED)
    assert main == [job] and cached == [job]


async def test_later_comes_back_after_the_defer_delay() -> None:
    with pytest.raises(DeferJobError, match="twin"):
        await Lanes().publish(Job(uuid.uuid4()), Lane.LATER)


async def test_a_failed_publish_brings_the_job_back_without_using_an_attempt() -> None:
    async def broker_away(job: Job) -> None:
        raise ConnectionError("broker closed the channel")

    with pytest.raises(DeferJobError, match="on to the main lane failed: broker closed"):
        await Lanes(hand_over=broker_away).publish(Job(uuid.uuid4()), Lane.MAIN)
