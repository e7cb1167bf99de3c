"""Step give up: failed and told, a chat ended silently, a job out of attempts."""

from __future__ import annotations

import pytest

from mediabot.domain.enums import RequestState
from mediabot.worker.steps.context import LeftOurHandsError
from mediabot.worker.steps.give_up import end_chat, fail, give_up
from mediabot.worker.texts import sorry
from tests.worker.steps.worker_fakes import FakeRequests, FakeStatuses, World, make_request


async def test_a_failure_is_recorded_with_its_detail_and_told() -> None:
    world = World()
    await fail(world.job, "Too long.", detail="duration 4h")
    assert world.state is RequestState.FAILED and world.job.ending
    assert world.requests.values[world.request.id]["error_reason"] == "Too long. (duration 4h)"
    assert world.status.final == "❌ Too long."


async def test_a_failure_after_a_cancel_says_nothing() -> None:
    world = World()
    world.requests.states[world.request.id] = RequestState.CANCELLED
    with pytest.raises(LeftOurHandsError):
        await fail(world.job, "Too long.")
    assert world.status.final is None and world.state is RequestState.CANCELLED


async def test_an_unreachable_chat_ends_its_requests_without_a_word() -> None:
    world = World()
    await end_chat(world.job, "bot was blocked by the user")
    assert world.requests.ended_chats == [
        (world.request.chat_id, "chat unreachable: bot was blocked by the user")
    ]
    assert world.job.ending and world.status.final is None


async def test_a_job_out_of_attempts_fails_and_the_user_is_told() -> None:
    request = make_request()
    requests = FakeRequests(states={request.id: RequestState.DOWNLOADING})
    requests.given_up[request.id] = request
    statuses = FakeStatuses()
    await give_up(requests, statuses, request.id, "server busy")
    assert requests.states[request.id] is RequestState.FAILED
    assert requests.values[request.id]["error_reason"] == "server busy"
    [(opened, buttons, status)] = statuses.opened
    assert opened is request and not buttons and status.final == f"❌ {sorry()}"


async def test_a_job_out_of_attempts_of_a_blocked_chat_says_nothing() -> None:
    request = make_request(chat_blocked=True)
    requests = FakeRequests(states={request.id: RequestState.QUEUED})
    requests.given_up[request.id] = request
    statuses = FakeStatuses()
    await give_up(requests, statuses, request.id, "server busy")
    assert requests.states[request.id] is RequestState.FAILED and statuses.opened == []


async def test_a_job_out_of_attempts_that_had_ended_says_nothing() -> None:
    request = make_request()
    requests = FakeRequests(states={request.id: RequestState.CANCELLED})
    requests.given_up[request.id] = request
    statuses = FakeStatuses()
    await give_up(requests, statuses, request.id, "server busy")
    assert requests.states[request.id] is RequestState.CANCELLED and statuses.opened == []
