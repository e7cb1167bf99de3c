"""Step watch: renews, stops the work when the request leaves our hands, not after our end,
nor when a renewal fails."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.exc import DBAPIError

from mediabot.domain.enums import RequestState
from mediabot.domain.media import Progress
from mediabot.worker.steps.watch import watch
from tests.worker.steps.worker_fakes import World


async def test_a_lost_lease_stops_the_work() -> None:
    world = World()
    world.requests.held = False
    work = asyncio.create_task(asyncio.sleep(10))
    assert await watch(world.job, work, every_s=0.001) is True
    assert work.cancelled() or work.cancelling()


async def test_a_cancel_by_the_user_stops_the_work() -> None:
    world = World()
    world.requests.states[world.request.id] = RequestState.CANCELLED
    work = asyncio.create_task(asyncio.sleep(10))
    assert await watch(world.job, work, every_s=0.001) is True


async def test_an_ending_of_our_own_is_not_a_cancel() -> None:
    world = World()
    world.job.ending = True
    world.requests.states[world.request.id] = RequestState.FAILED
    work = asyncio.create_task(asyncio.sleep(0.05))
    assert await watch(world.job, work, every_s=0.001) is False
    await work  # ran to its end


async def test_work_that_ends_ends_the_watch() -> None:
    world = World()
    work = asyncio.create_task(asyncio.sleep(0.01))
    assert await watch(world.job, work, every_s=0.005) is False
    assert work.done() and not work.cancelled()


async def test_each_renewal_records_the_progress_shown() -> None:
    world = World()
    world.requests.states[world.request.id] = RequestState.UPLOADING
    world.status.show_upload(1, 4)
    work = asyncio.create_task(asyncio.sleep(0.02))
    await watch(world.job, work, every_s=0.005)
    assert world.requests.progress[world.request.id] == Progress(parts_total=4)


async def test_a_renewal_that_fails_is_tried_again_not_taken_for_a_lost_lease() -> None:
    world = World()
    renew = world.requests.renew
    failures = [DBAPIError("UPDATE", None, Exception("gone"), connection_invalidated=True)]

    async def database_away_once(request_id: uuid.UUID, progress: Progress | None = None) -> bool:
        if failures:
            raise failures.pop()
        return await renew(request_id, progress)

    world.requests.renew = database_away_once  # type: ignore[method-assign]
    work = asyncio.create_task(asyncio.sleep(0.05))
    assert await watch(world.job, work, every_s=0.005) is False
    assert not failures and work.done() and not work.cancelled()
