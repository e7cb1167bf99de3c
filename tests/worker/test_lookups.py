"""The lookup lane's consumer on a real database, with a fake finder and fake replies:
one lookup per link across workers, the placeholder only for a slow one, one answer."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from asyncpg.exceptions import TooManyConnectionsError
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mediabot.db.lookups import LookupRequests, SharedLookups
from mediabot.db.models import LookupRequest
from mediabot.db.repositories import TelegramUser, UserRepository
from mediabot.domain.enums import Provider
from mediabot.domain.jobs import Job
from mediabot.domain.lookups import Found, LookupKind, Outcome
from mediabot.domain.media import MediaOptions
from mediabot.domain.retry import Backoff
from mediabot.queue.base import DeferJobError
from mediabot.worker.lookups import LookupLane, LookupWorker


def _found(url: str) -> Found:
    return Found(MediaOptions(url=url, provider=Provider.GENERIC, media_key=url, title="t"))


@dataclass
class FakeFinder:
    looked_up: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None

    async def __call__(self, url: str) -> Outcome:
        self.looked_up.append(url)
        if self.gate is not None:
            await self.gate.wait()
        return _found(url)


@dataclass
class FakeReplies:
    placeholders_for: list[list[int]] = field(default_factory=list)
    answers: list[tuple[uuid.UUID, list[Outcome | None]]] = field(default_factory=list)
    placeholder_sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def placeholders(self, request: LookupRequest, links: list[int]) -> list[int | None]:
        self.placeholders_for.append(links)
        self.placeholder_sent.set()
        return [100 + index if index in links else None for index in range(len(request.urls))]

    async def answer(self, request: LookupRequest, outcomes: list[Outcome | None]) -> None:
        self.answers.append((request.id, outcomes))


def _worker(
    engine: AsyncEngine, find: FakeFinder, replies: FakeReplies, owner: str
) -> LookupWorker:
    return LookupWorker(
        LookupLane(
            requests=LookupRequests(engine),
            shared=SharedLookups(engine),
            find=find,
            replies=replies,
            owner=owner,
            lease_s=5.0,
            placeholder_after_s=0.3,
        )
    )


async def _request(
    engine: AsyncEngine,
    *urls: str,
    message_id: int | None = None,
    update_id: int | None = None,
    user_id: uuid.UUID | None = None,
) -> uuid.UUID:
    return await LookupRequests.record(
        engine,
        LookupRequest(
            kind=LookupKind.MESSAGE,
            telegram_chat_id=1,
            message_id=message_id,
            update_id=update_id,
            user_id=user_id,
            urls=list(urls),
            locale="en",
        ),
    )


async def test_a_quick_lookup_is_answered_without_a_placeholder_once(engine: AsyncEngine) -> None:
    find, replies = FakeFinder(), FakeReplies()
    worker = _worker(engine, find, replies, "w1")
    request_id = await _request(engine, "https://a.example/1")
    await worker.handle(Job(request_id))
    await worker.handle(Job(request_id))  # redelivered: already answered
    assert replies.placeholders_for == []
    assert replies.answers == [(request_id, [_found("https://a.example/1")])]
    assert find.looked_up == ["https://a.example/1"]


async def test_only_the_slow_link_gets_a_placeholder(engine: AsyncEngine) -> None:
    gate = asyncio.Event()
    slow = "https://a.example/slow"

    class Finder(FakeFinder):
        async def __call__(self, url: str) -> Outcome:
            if url == slow:
                await gate.wait()
            return _found(url)

    replies = FakeReplies()
    worker = _worker(engine, Finder(), replies, "w1")
    request_id = await _request(engine, "https://a.example/quick", slow)
    handling = asyncio.create_task(worker.handle(Job(request_id)))
    await replies.placeholder_sent.wait()
    gate.set()
    await handling
    assert replies.placeholders_for == [[1]]
    [(_, outcomes)] = replies.answers
    assert outcomes == [_found("https://a.example/quick"), _found(slow)]
    request = await LookupRequests(engine).get(request_id)
    assert request is not None and request.placeholders == [None, 101]


async def test_a_request_held_by_a_live_worker_is_deferred(engine: AsyncEngine) -> None:
    gate = asyncio.Event()
    replies = FakeReplies()
    first = _worker(engine, FakeFinder(gate=gate), replies, "w1")
    second = _worker(engine, FakeFinder(), replies, "w2")
    request_id = await _request(engine, "https://a.example/held")
    handling = asyncio.create_task(first.handle(Job(request_id)))
    await replies.placeholder_sent.wait()
    with pytest.raises(DeferJobError):
        await second.handle(Job(request_id))
    gate.set()
    await handling
    assert len(replies.answers) == 1


async def test_one_link_from_many_requests_on_two_workers_is_looked_up_once(
    engine: AsyncEngine,
) -> None:
    gate = asyncio.Event()
    finders = [FakeFinder(gate=gate), FakeFinder(gate=gate)]
    replies = FakeReplies()
    workers = [_worker(engine, finders[n], replies, f"w{n}") for n in range(2)]
    requests = [await _request(engine, "https://a.example/viral") for _ in range(10)]
    handling = [
        asyncio.create_task(workers[n % 2].handle(Job(request_id)))
        for n, request_id in enumerate(requests)
    ]
    await replies.placeholder_sent.wait()
    gate.set()
    await asyncio.gather(*handling)
    assert len(finders[0].looked_up) + len(finders[1].looked_up) == 1
    assert sorted(request_id for request_id, _ in replies.answers) == sorted(requests)


async def test_a_restart_publishes_the_pending_requests_again(engine: AsyncEngine) -> None:
    """`mediabot run` restarted: its in-process queue lost the jobs, the database has them."""
    replies = FakeReplies()
    worker = _worker(engine, FakeFinder(), replies, "w-after-restart")
    pending = await _request(engine, "https://a.example/pending")
    answered = await _request(engine, "https://a.example/answered")
    await worker.handle(Job(answered))
    published: list[Job] = []

    async def publish(job: Job) -> None:
        published.append(job)

    assert await worker.recover(publish) == 1
    assert published == [Job(pending)]


async def test_only_the_last_edit_of_a_message_is_answered(engine: AsyncEngine) -> None:
    """A message edited many times in a row once got an offer per edit, each a lookup
    ahead of other users' links. The last edit is the highest update, whatever order the
    bot recorded them in (it handles updates concurrently)."""
    find, replies = FakeFinder(), FakeReplies()
    worker = _worker(engine, find, replies, "w1")
    versions = [
        await _request(engine, f"https://a.example/{update}", message_id=77, update_id=update)
        for update in (10, 12, 11)
    ]
    other_message = await _request(engine, "https://a.example/other", message_id=78, update_id=9)
    old_release = await _request(engine, "https://a.example/old", message_id=78)
    for request_id in [*versions, other_message, old_release]:
        await worker.handle(Job(request_id))
    answered = [request_id for request_id, _ in replies.answers]
    assert answered == [versions[1], other_message, old_release]
    assert find.looked_up == [
        "https://a.example/12",
        "https://a.example/other",
        "https://a.example/old",
    ]
    for request_id in versions:  # none is left for the sweep
        request = await LookupRequests(engine).get(request_id)
        assert request is not None and request.state == "answered"


async def _user(engine: AsyncEngine, telegram_id: int) -> uuid.UUID:
    async with AsyncSession(engine) as session:
        user_id = await UserRepository(session).upsert(TelegramUser(telegram_id, "Ann"))
        await session.commit()
        return user_id


async def test_one_users_slow_links_leave_room_for_another_users(engine: AsyncEngine) -> None:
    """Five links to silent servers once took every lookup process until their deadline,
    and everyone else's links waited behind them."""
    silent, reached = asyncio.Event(), asyncio.Event()

    class Finder(FakeFinder):
        async def __call__(self, url: str) -> Outcome:
            self.looked_up.append(url)
            if "silent" in url:
                reached.set()
                await silent.wait()
            return _found(url)

    class Claims(LookupRequests):
        claimed: ClassVar[dict[uuid.UUID, asyncio.Event]] = {}

        async def claim(self, request_id: uuid.UUID, owner: str, lease_s: float) -> float | None:
            age = await super().claim(request_id, owner, lease_s)
            self.claimed.setdefault(request_id, asyncio.Event()).set()
            return age

    find, replies = Finder(), FakeReplies()
    lane = LookupLane(  # one link per user at a time
        Claims(engine), SharedLookups(engine), find, replies, "w1", placeholder_after_s=0.3
    )
    worker = LookupWorker(lane)
    flooder, other = await _user(engine, 4_100_001), await _user(engine, 4_100_002)
    slow = [f"https://silent.example/{n}" for n in range(5)]
    flood = asyncio.create_task(worker.handle(Job(await _request(engine, *slow, user_id=flooder))))
    await reached.wait()
    quick = await _request(engine, "https://a.example/quick", user_id=other)
    await asyncio.wait_for(worker.handle(Job(quick)), 5)
    assert [request_id for request_id, _ in replies.answers] == [quick]
    assert find.looked_up == [slow[0], "https://a.example/quick"]  # the flooder's turn: one
    # Two of the user's requests in the works (one looking up, one next): a third waits
    # in the queue, not in one of the lane's places.
    second_id = await _request(engine, "https://silent.example/x", user_id=flooder)
    second = asyncio.create_task(worker.handle(Job(second_id)))
    await Claims.claimed.setdefault(second_id, asyncio.Event()).wait()
    third = await _request(engine, "https://silent.example/y", user_id=flooder)
    with pytest.raises(DeferJobError):
        await worker.handle(Job(third))
    silent.set()
    await flood
    await second
    assert find.looked_up[2:] == [*slow[1:], "https://silent.example/x"]


_TOO_MANY_CLIENTS = DBAPIError("SELECT", {}, TooManyConnectionsError("too many clients already"))
"""What asyncpg's pool raised in the bench while PostgreSQL's connection slots were full."""


async def _state(engine: AsyncEngine, request_id: uuid.UUID) -> str | None:
    request = await LookupRequests(engine).get(request_id)
    return request.state if request is not None else None


async def _lease_ran_out(engine: AsyncEngine, request_id: uuid.UUID) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            update(LookupRequest)
            .where(LookupRequest.id == request_id)
            .values(lease_until=LookupRequest.lease_until - 60)
        )


async def test_a_database_failure_before_the_answer_leaves_it_to_the_retry(
    engine: AsyncEngine,
) -> None:
    """PostgreSQL out of connection slots for a moment once left a request claimed for its
    answer and never answered: its retry found it "answered already"."""

    class Requests(LookupRequests):
        reads = 0

        async def superseded(self, request: LookupRequest) -> bool:
            Requests.reads += 1
            if Requests.reads == 2:  # the read next to the answer, not the one before lookup
                raise _TOO_MANY_CLIENTS
            return await super().superseded(request)

    replies = FakeReplies()
    lane = LookupLane(Requests(engine), SharedLookups(engine), FakeFinder(), replies, "w1")
    request_id = await _request(engine, "https://a.example/1", message_id=5, update_id=50)
    with pytest.raises(DBAPIError):
        await LookupWorker(lane).handle(Job(request_id))
    assert replies.answers == []
    assert await _state(engine, request_id) == "pending"

    await _lease_ran_out(engine, request_id)  # the failed worker's lease, not renewed
    retry = _worker(engine, FakeFinder(), replies, "w2")
    await retry.handle(Job(request_id))
    await retry.handle(Job(request_id))  # delivered once more: answered already
    assert [answered for answered, _ in replies.answers] == [request_id]
    assert await _state(engine, request_id) == "answered"


@dataclass
class FailingReplies(FakeReplies):
    """Fails its first answer before sending anything (recording an offer)."""

    failures: int = 1

    async def answer(self, request: LookupRequest, outcomes: list[Outcome | None]) -> None:
        if self.failures:
            self.failures -= 1
            raise _TOO_MANY_CLIENTS
        await super().answer(request, outcomes)


async def test_an_answer_that_failed_before_any_send_is_given_back_and_answered_once(
    engine: AsyncEngine,
) -> None:
    class Requests(LookupRequests):
        give_backs = 0

        async def give_back_answer(self, request_id: uuid.UUID, owner: str) -> bool:
            Requests.give_backs += 1
            if Requests.give_backs == 1:  # the database still away: tried again
                raise _TOO_MANY_CLIENTS
            return await super().give_back_answer(request_id, owner)

    replies = FailingReplies()
    backoff = Backoff(base_delay_s=0, max_delay_s=0, max_attempts=3)
    lane = LookupLane(Requests(engine), SharedLookups(engine), FakeFinder(), replies, "w1")
    lane = dataclasses.replace(lane, give_back_backoff=backoff)
    request_id = await _request(engine, "https://a.example/given-back")
    with pytest.raises(DBAPIError):
        await LookupWorker(lane).handle(Job(request_id))
    assert Requests.give_backs == 2
    assert await _state(engine, request_id) == "pending"

    retry = _worker(engine, FakeFinder(), replies, "w2")  # no lease to wait out
    await retry.handle(Job(request_id))
    await retry.handle(Job(request_id))
    assert [answered for answered, _ in replies.answers] == [request_id]


async def test_an_answer_sent_is_never_given_back(engine: AsyncEngine) -> None:
    """Recording "answered" failed after the send: the request stays claimed, so neither
    the job's retry nor its dead letter answers it a second time."""

    class Requests(LookupRequests):
        async def answered(self, request_id: uuid.UUID) -> None:
            raise _TOO_MANY_CLIENTS

    replies = FakeReplies()
    lane = LookupLane(Requests(engine), SharedLookups(engine), FakeFinder(), replies, "w1")
    worker = LookupWorker(lane)
    request_id = await _request(engine, "https://a.example/sent")
    with pytest.raises(DBAPIError):
        await worker.handle(Job(request_id))
    assert await _state(engine, request_id) == "answering"

    retry = _worker(engine, FakeFinder(), replies, "w2")
    await retry.handle(Job(request_id))
    await retry.on_dead_letter(Job(request_id), "every attempt failed")
    assert [answered for answered, _ in replies.answers] == [request_id]
