"""Step claim: ours, not ours, waiting for the user's share, or nothing to do."""

from __future__ import annotations

import uuid

import pytest

from mediabot.queue.base import DeferJobError
from mediabot.worker.request import Claim
from mediabot.worker.steps.claim import claim
from tests.worker.steps.worker_fakes import FakeRequests, make_request


async def test_a_claimed_request_is_returned() -> None:
    request = make_request()
    requests = FakeRequests(claim_outcome=Claim(True, request=request))
    assert await claim(requests, request.id) is request
    assert requests.released == []


async def test_a_request_held_elsewhere_or_finished_is_skipped() -> None:
    requests = FakeRequests(claim_outcome=Claim(False))
    assert await claim(requests, uuid.uuid4()) is None


async def test_a_user_over_their_share_waits_without_an_attempt() -> None:
    requests = FakeRequests(claim_outcome=Claim(False, waiting=True))
    with pytest.raises(DeferJobError):
        await claim(requests, uuid.uuid4())


async def test_a_claimed_request_without_a_choice_is_handed_back() -> None:
    request_id = uuid.uuid4()
    requests = FakeRequests(claim_outcome=Claim(True, request=None))
    assert await claim(requests, request_id) is None
    assert requests.released == [(request_id, False)]
