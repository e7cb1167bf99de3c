"""The queries of a user's stack, fair turns and history, against both databases."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.bot import texts
from mediabot.bot.adapters import database_ports
from mediabot.bot.usecases.choose import Chosen, choose
from mediabot.bot.usecases.limits import Limits, StackFull
from mediabot.db.base import utcnow
from mediabot.db.models import FilePart, RequestRow
from mediabot.db.repositories import (
    RequestRows,
    UserRepository,
)
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.media import Progress
from mediabot.domain.offer import Offer, Pick, Variant
from mediabot.worker.adapters import DatabaseRequests
from tests.support.rows import add_request

LEASE = timedelta(minutes=2)


async def _queued(
    sessions: async_sessionmaker[AsyncSession], telegram_id: int, key: str = "youtube:abc"
) -> uuid.UUID:
    async with sessions.begin() as session:
        file = await add_request(
            session,
            telegram_id,
            key,
            kind=MediaKind.VIDEO,
            resolution=720,
            state=RequestState.ACCEPTED,
            title=f"title of {key}",
        )
        await RequestRows(session).set_state(file.id, RequestState.QUEUED)
    await asyncio.sleep(0.002)  # distinct queue times on any clock
    return file.id


async def _claim(
    sessions: async_sessionmaker[AsyncSession], preferred: uuid.UUID, max_per_user: int = 1
) -> uuid.UUID | None:
    async with sessions.begin() as session:
        return await RequestRows(session).claim_fairest(
            preferred, "worker", LEASE, max_per_user=max_per_user
        )


async def _finish(sessions: async_sessionmaker[AsyncSession], file_id: uuid.UUID) -> None:
    async with sessions.begin() as session:
        files = RequestRows(session)
        await files.add_part(
            file_id,
            FilePart(
                index=0,
                kind=MediaKind.VIDEO,
                telegram_file_id=f"id-{file_id.hex}",
                telegram_file_unique_id=file_id.hex[:16],
            ),
        )
        await files.set_state(file_id, RequestState.DELIVERED)


async def test_a_second_user_gets_the_second_turn_not_the_fourth(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a1, a2, a3 = [await _queued(sessions, 1, f"youtube:a{index}") for index in range(3)]
    b1 = await _queued(sessions, 2, "youtube:b1")

    assert await _claim(sessions, a1) == a1
    # A's first request runs: the job of A's second takes B's.
    assert await _claim(sessions, a2) == b1
    await _finish(sessions, a1)
    await _finish(sessions, b1)
    # B has nothing left: A's requests follow in order.
    assert await _claim(sessions, a3) == a2
    await _finish(sessions, a2)
    assert await _claim(sessions, a3) == a3
    # Nothing left to claim: the extra job finds nothing.
    assert await _claim(sessions, a3) is None


async def test_a_user_served_while_another_waited_yields_the_next_turn(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a1, a2 = [await _queued(sessions, 1, f"youtube:a{index}") for index in range(2)]
    b1 = await _queued(sessions, 2, "youtube:b1")
    assert await _claim(sessions, a1) == a1
    await _finish(sessions, a1)
    # A was served after B queued; A's second request waits for B's first.
    assert await _claim(sessions, a2) == b1


async def test_the_named_request_wins_a_tie_and_the_share_is_kept(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    b1 = await _queued(sessions, 2, "youtube:b1")
    c1 = await _queued(sessions, 3, "youtube:c1")
    assert await _claim(sessions, c1) == c1
    c2 = await _queued(sessions, 3, "youtube:c2")
    # C has its one running request: its second is not taken, B's is.
    assert await _claim(sessions, c2) == b1
    assert await _claim(sessions, c2) is None
    assert await _claim(sessions, c2, max_per_user=2) == c2


async def test_in_flight_count_and_history_pages(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await _queued(sessions, 5, f"youtube:v{index}") for index in range(13)]
    for file_id in ids[:12]:
        await _finish(sessions, file_id)
    async with sessions() as session:
        user = await UserRepository(session).by_telegram_id(5)
        assert user is not None
        files = RequestRows(session)
        assert await files.count_in_flight_of_user(user.id) == 1
        assert [file.id for file in await files.in_flight_of_user(user.id)] == [ids[12]]
        first, total = await files.delivered_of_user(user.id, limit=10)
        second, _ = await files.delivered_of_user(user.id, offset=10, limit=10)
    assert total == 12
    assert [file.id for file in first] == ids[11:1:-1]
    assert [file.id for file in second] == [ids[1], ids[0]]


async def test_again_queues_a_copy_the_cache_serves(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """...and counts as a press (`RATE_LIMIT_PER_HOUR` counts by `chosen_at`)."""
    original = await _queued(sessions, 6, "youtube:again")
    await _finish(sessions, original)
    async with sessions.begin() as session:
        files = RequestRows(session)
        delivered = await files.get_with_chat(original)
        assert delivered is not None and delivered.requested_by_id is not None
        user_id = delivered.requested_by_id
        before, _ = await files.presses_since(user_id, utcnow() - LEASE)
        copy = await files.again(delivered, delivered.chat_id, user_id)
        after, _ = await files.presses_since(user_id, utcnow() - LEASE)
        hit = await files.find_delivered("youtube:again", Variant(MediaKind.VIDEO, 720))
    assert copy.id != original and copy.state is RequestState.QUEUED
    assert hit is not None and hit.id == original
    assert after == before + 1


async def test_a_lease_renewal_records_the_progress_for_queue(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    request_id = await _queued(sessions, 501)
    assert await _claim(sessions, request_id) == request_id
    async with sessions.begin() as session:
        files = RequestRows(session)
        assert await files.renew_lease(request_id, "worker", LEASE, Progress(percent=40))
        assert not await files.renew_lease(request_id, "someone else", LEASE, Progress(99, 9))
    async with sessions() as session:
        file = await RequestRows(session).get(request_id)
    assert file is not None and (file.progress_percent, file.parts_total) == (40, None)


def test_queue_states_say_how_far() -> None:
    assert texts.state_downloading(40) == "downloading 40 %"
    assert texts.state_downloading() == "downloading"
    assert texts.state_uploading(2, 4) == "uploading part 2/4"
    assert texts.state_uploading(1, 1) == "uploading"
    assert texts.state_uploading(3) == "uploading part 3"


async def _offered(sessions: async_sessionmaker[AsyncSession], key: str) -> RequestRow:
    async with sessions.begin() as session:
        return await add_request(session, 601, key, offer=Offer(audio=True))


@pytest.mark.parametrize("migrated_db_url", ["postgresql"], indirect=True)
async def test_two_presses_at_once_cannot_both_fill_the_last_place(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The stack is counted again under the user's row lock when the choice is recorded."""
    offers = [await _offered(sessions, f"youtube:race{index}") for index in range(2)]

    published: list[Job] = []

    class Publisher:
        async def publish(self, job: Job, *, cached: bool = False) -> bool:
            published.append(job)
            return True

    async def press(offer: RequestRow) -> Chosen:
        outcomes: list[Chosen] = []

        async def reply(chosen: Chosen) -> None:
            outcomes.append(chosen)

        async with sessions() as session:
            await choose(
                database_ports(session, Publisher()),
                offer,
                Pick(MediaKind.AUDIO),
                offer.requested_by_id or uuid.uuid4(),
                Limits(max_active=1, per_hour=100),
                reply,
            )
        return outcomes[0]

    outcomes = await asyncio.gather(*(press(offer) for offer in offers))
    assert sorted(isinstance(outcome, StackFull) for outcome in outcomes) == [False, True]
    assert len(published) == 1


async def test_a_ban_cancels_the_users_pending_requests_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    mine = [await _queued(sessions, 701, f"youtube:m{index}") for index in range(2)]
    theirs = await _queued(sessions, 702, "youtube:t0")
    async with sessions.begin() as session:
        cancelled = await RequestRows(session).cancel_pending_of_user(701, "banned")
    assert sorted(cancelled) == sorted(mine)
    async with sessions() as session:
        files = RequestRows(session)
        states = {file_id: (await files.get(file_id)).state for file_id in [*mine, theirs]}  # type: ignore[union-attr]
    assert states == {
        mine[0]: RequestState.CANCELLED,
        mine[1]: RequestState.CANCELLED,
        theirs: RequestState.QUEUED,
    }


async def test_a_spare_job_stands_for_a_request_waiting_for_its_users_turn(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """U's second request waits for U's share; V's job finds its own request taken by a fairer
    turn and nothing it may claim: it must come back (deferred), not vanish, or U's second
    request would be left with no message."""
    u1, u2 = [await _queued(sessions, 901, f"youtube:u{index}") for index in range(2)]
    v1 = await _queued(sessions, 902, "youtube:v1")
    worker = DatabaseRequests(sessions, "w1", LEASE, max_running_per_user=1)
    other = DatabaseRequests(sessions, "w2", LEASE, max_running_per_user=1)
    assert (await worker.claim(u1)).taken == u1
    assert (await other.claim(u2)).taken == v1  # u2's job took the fairer turn, v1
    spare = await DatabaseRequests(sessions, "w3", LEASE, max_running_per_user=1).claim(v1)
    assert not spare.claimed and spare.waiting  # u2 still waits for U's turn
    await _finish(sessions, u1)
    await _finish(sessions, v1)
    assert (await worker.claim(v1)).taken == u2  # the spare job serves u2 when its turn comes
    await _finish(sessions, u2)
    assert not (await worker.claim(v1)).waiting  # nothing left: the job ends
