"""The lookup lane's records: one lookup per link across processes, answers claimed once."""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.lookups import Answered, LookupRequests, Running, SharedLookups, Taken
from mediabot.db.models import LookupRequest, SharedLookup
from mediabot.domain.enums import Provider
from mediabot.domain.lookups import Found, LookupKind, Refused
from mediabot.domain.media import MediaOptions, Resolution

URL = "https://example.com/v/1"
FOUND = Found(
    media=MediaOptions(
        url=URL,
        provider=Provider.GENERIC,
        media_key="generic:1",
        title="A video",
        resolutions=(Resolution(360, 1000), Resolution(720, None)),
    )
)
REFUSED = Refused("NotFoundError", "Not found.", {}, "404 at the site")


async def _age_lookup(engine: AsyncEngine, seconds: float) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(SharedLookup).values(
                lease_until=SharedLookup.lease_until - seconds,
                finished_at=SharedLookup.finished_at - seconds,
            )
        )


async def test_one_worker_looks_a_link_up_and_the_others_take_its_answer(
    engine: AsyncEngine,
) -> None:
    shared = SharedLookups(engine)
    assert await shared.take(URL, "w1", 10, None) == Taken("w1")
    assert await shared.take(URL, "w2", 10, None) == Running()

    await shared.finish(URL, "w1", FOUND, failed=False)

    assert await shared.take(URL, "w2", 10, None) == Answered(FOUND)
    await _age_lookup(engine, shared.recent_s + 1)
    assert await shared.take(URL, "w2", 10, None) == Taken("w2")  # too old: looked up again


async def test_a_failure_goes_only_to_those_already_waiting(engine: AsyncEngine) -> None:
    shared = SharedLookups(engine)
    assert isinstance(await shared.take(URL, "w1", 10, None), Taken)
    waiting_since = await shared.now()
    await shared.finish(URL, "w1", REFUSED, failed=True)

    assert await shared.take(URL, "w2", 10, waiting_since) == Answered(REFUSED)
    assert await shared.take(URL, "w3", 10, None) == Taken("w3")  # a newcomer tries again


async def test_a_lookup_whose_worker_died_is_taken_over(engine: AsyncEngine) -> None:
    shared = SharedLookups(engine)
    assert isinstance(await shared.take(URL, "dead", 10, None), Taken)
    assert await shared.take(URL, "alive", 10, None) == Running()
    await _age_lookup(engine, 11)
    assert await shared.take(URL, "alive", 10, None) == Taken("alive")


async def _request(engine: AsyncEngine) -> uuid.UUID:
    return await LookupRequests.record(
        engine,
        LookupRequest(kind=LookupKind.MESSAGE, telegram_chat_id=5, urls=[URL], locale="en"),
    )


async def test_a_request_is_looked_up_by_one_worker_and_answered_once(
    engine: AsyncEngine,
) -> None:
    requests = LookupRequests(engine)
    request_id = await _request(engine)

    age = await requests.claim(request_id, "w1", 10)
    assert age is not None and 0 <= age < 5
    assert await requests.claim(request_id, "w2", 10) is None
    assert 0 < (await requests.held_for_s(request_id) or 0) <= 10

    assert await requests.claim_answer(request_id, "w1")
    assert not await requests.claim_answer(request_id, "w2")
    await requests.answered(request_id)
    assert await requests.held_for_s(request_id) is None
    assert await requests.claim(request_id, "w2", 10) is None


async def test_a_request_left_by_a_dead_worker_is_found_unanswered(engine: AsyncEngine) -> None:
    requests = LookupRequests(engine)
    request_id = await _request(engine)
    assert await requests.claim(request_id, "dead", 10) is not None
    assert await requests.unanswered(older_than_s=0) == []
    async with engine.begin() as connection:
        await connection.execute(
            update(LookupRequest).values(
                lease_until=LookupRequest.lease_until - 20,
                created_at=LookupRequest.created_at - 20,
            )
        )
    assert [row.id for row in await requests.unanswered(older_than_s=5)] == [request_id]
    assert await requests.claim(request_id, "alive", 10) is not None


async def test_a_request_nobody_claimed_may_still_be_answered_once(engine: AsyncEngine) -> None:
    """A job that failed before any claim (dead-lettered): its answer is still claimable."""
    requests = LookupRequests(engine)
    request_id = await _request(engine)
    assert await requests.claim_answer(request_id, "w1")
    assert not await requests.claim_answer(request_id, "w2")


async def test_an_answer_claimed_is_given_back_only_by_its_owner(engine: AsyncEngine) -> None:
    """An answer that failed before any send: pending and unleased again, so another
    worker takes it at once; never once answered, nor by another owner."""
    requests = LookupRequests(engine)
    request_id = await _request(engine)
    assert not await requests.give_back_answer(request_id, "w1")  # never claimed
    assert await requests.claim(request_id, "w1", 10) is not None
    assert await requests.claim_answer(request_id, "w1")
    assert not await requests.give_back_answer(request_id, "w2")
    assert await requests.held_for_s(request_id) is None  # answering: not pending

    assert await requests.give_back_answer(request_id, "w1")
    assert await requests.held_for_s(request_id) == 0.0
    assert await requests.claim(request_id, "w2", 10) is not None
    assert await requests.claim_answer(request_id, "w2")
    await requests.answered(request_id)
    assert not await requests.give_back_answer(request_id, "w2")
    assert await requests.claim_answer(request_id, "w1") is False
