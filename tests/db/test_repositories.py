"""Repositories against both databases: upserts, the offer, leases, the cache, positions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.base import utcnow
from mediabot.db.models import FilePart, ProviderRow, RequestRow
from mediabot.db.repositories import (
    ChatRepository,
    ProviderRepository,
    RequestRows,
    TelegramChat,
    TelegramUser,
    UserRepository,
)
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.offer import Variant
from mediabot.downloaders.registry import providers
from tests.support.rows import add_request


async def _offer(
    session: AsyncSession, telegram_id: int = 1, key: str = "youtube:abc"
) -> RequestRow:
    return await add_request(session, telegram_id, key, offer={"heights": [360, 720]})


async def test_upsert_refreshes_instead_of_duplicating(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        first = await UserRepository(session).upsert(TelegramUser(42, "Ann", username="ann"))
        second = await UserRepository(session).upsert(TelegramUser(42, "Anna", username="anna"))
        chat_a = await ChatRepository(session).upsert(TelegramChat(42, "private"), first)
        chat_b = await ChatRepository(session).upsert(TelegramChat(42, "private", "x"), first)
    assert first == second
    assert chat_a == chat_b
    async with sessions() as session:
        user = await UserRepository(session).by_telegram_id(42)
        chat = await ChatRepository(session).by_telegram_id(42)
    assert user is not None and user.first_name == "Anna" and user.username == "anna"
    assert chat is not None and chat.title == "x" and chat.user_id == first
    assert user.created_at.tzinfo is not None


async def test_every_provider_has_a_row(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        rows = ProviderRepository(session)
        ids = {provider: await rows.id_of(provider) for provider in providers()}
    assert len(set(ids.values())) == len(providers())


async def test_a_new_site_gets_its_provider_row_on_first_use(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    vimeo = Provider.declare("vimeo", "Vimeo")
    async with sessions() as session:
        first = await ProviderRepository(session).id_of(vimeo)
        second = await ProviderRepository(session).id_of(Provider("vimeo"))
        await session.commit()
        shown = await session.scalar(
            select(ProviderRow.display_name).where(ProviderRow.id == first)
        )
    assert first == second and shown == "Vimeo"


async def test_an_offer_is_chosen_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        offer = await _offer(session)
    async with sessions.begin() as session:
        chosen = await RequestRows(session).choose(offer.id, Variant(MediaKind.VIDEO, 720))
    async with sessions.begin() as session:
        again = await RequestRows(session).choose(offer.id, Variant(MediaKind.AUDIO))
    assert chosen is not None and chosen.state is RequestState.ACCEPTED
    assert chosen.kind is MediaKind.VIDEO and chosen.resolution == 720
    assert again is None


async def test_only_one_of_racing_workers_claims_a_request(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        offer = await _offer(session)
        await RequestRows(session).choose(offer.id, Variant(MediaKind.AUDIO))

    async def claim(owner: str) -> bool:
        async with sessions.begin() as session:
            return await RequestRows(session).claim(offer.id, owner, timedelta(minutes=1))

    results = await asyncio.gather(*(claim(f"worker-{n}") for n in range(5)))
    assert sorted(results) == [False, False, False, False, True]

    async with sessions.begin() as session:
        repository = RequestRows(session)
        assert not await repository.renew_lease(offer.id, "someone-else", timedelta(minutes=1))
        # A lease that has run out can be taken over: its worker is presumed dead.
        await repository.set_state(offer.id, RequestState.DOWNLOADING)
        file = await repository.get(offer.id)
        assert file is not None
        file.lease_expires_at = utcnow() - timedelta(seconds=1)
    async with sessions.begin() as session:
        stale = await RequestRows(session).stale_pending(utcnow() + timedelta(seconds=1))
        assert [file.id for file in stale] == [offer.id]
        assert await RequestRows(session).claim(offer.id, "worker-9", timedelta(minutes=1))
        refreshed = await RequestRows(session).get(offer.id)
    assert refreshed is not None and refreshed.attempts == 2


async def test_a_final_state_is_never_left(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        offer = await _offer(session)
        repository = RequestRows(session)
        assert await repository.set_state(offer.id, RequestState.CANCELLED)
        assert not await repository.set_state(offer.id, RequestState.QUEUED)
        file = await repository.get(offer.id)
    assert file is not None and file.state is RequestState.CANCELLED
    assert file.finished_at is not None


async def test_the_cache_finds_the_delivery_with_its_parts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        offer = await _offer(session, key="youtube:cached")
        repository = RequestRows(session)
        await repository.choose(offer.id, Variant(MediaKind.VIDEO, 720))
        for index in (1, 0):
            await repository.add_part(
                offer.id,
                FilePart(
                    index=index,
                    kind=MediaKind.VIDEO,
                    telegram_file_id=f"id-{index}",
                    telegram_file_unique_id=f"u-{index}",
                ),
            )
        await repository.set_state(offer.id, RequestState.DELIVERED)
    async with sessions() as session:
        repository = RequestRows(session)
        hit = await repository.find_delivered("youtube:cached", Variant(MediaKind.VIDEO, 720))
        other_height = await repository.find_delivered(
            "youtube:cached", Variant(MediaKind.VIDEO, 360)
        )
        audio = await repository.find_delivered("youtube:cached", Variant(MediaKind.AUDIO))
    assert hit is not None and [part.telegram_file_id for part in hit.parts] == ["id-0", "id-1"]
    assert other_height is None and audio is None


async def test_queue_position_counts_the_requests_ahead(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids: list[uuid.UUID] = []
    for n in range(3):
        ids.append(await _queued(sessions, 100 + n, f"youtube:q{n}"))
        await asyncio.sleep(0.01)
    async with sessions() as session:
        repository = RequestRows(session)
        positions = []
        for file_id in ids:
            file = await repository.get(file_id)
            assert file is not None
            positions.append(await repository.queue_position(file))
        queued = select(func.count()).where(RequestRow.state == RequestState.QUEUED)
        assert (await session.execute(queued)).scalar_one() == 3
    assert positions == [0, 1, 2]


async def test_a_lease_handed_back_on_shutdown_is_recovered_at_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        offer = await _offer(session, key="youtube:handback")
        files = RequestRows(session)
        await files.choose(offer.id, Variant(MediaKind.AUDIO))
        await files.set_state(offer.id, RequestState.QUEUED)
        assert await files.claim(offer.id, "stopping", timedelta(minutes=5))
    a_while_ago = utcnow() - timedelta(minutes=1)
    async with sessions.begin() as session:
        assert not await RequestRows(session).stale_pending(a_while_ago)
        await RequestRows(session).release(offer.id, "stopping", expire=True)
    async with sessions.begin() as session:
        stale = await RequestRows(session).stale_pending(a_while_ago)
        assert [file.id for file in stale] == [offer.id]
        await RequestRows(session).requeued([offer.id])
    async with sessions.begin() as session:
        # Published again: not again at once, and free for any worker to claim.
        assert not await RequestRows(session).stale_pending(a_while_ago)
        assert await RequestRows(session).claim(offer.id, "other", timedelta(minutes=5))


async def test_of_twins_fetching_the_same_media_only_the_later_waits(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    twins = await _fetching_twins(sessions, (301, 302), "youtube:twins")
    async with sessions() as session:
        files = RequestRows(session)
        first, later = [await files.get(twin) for twin in twins]
        assert first is not None and later is not None
        assert not await files.being_fetched(first)
        assert await files.being_fetched(later)
    async with sessions.begin() as session:
        await RequestRows(session).set_state(twins[0], RequestState.FAILED)
    async with sessions() as session:
        later = await RequestRows(session).get(twins[1])
        assert later is not None and not await RequestRows(session).being_fetched(later)


async def test_a_fetch_between_its_parts_stays_the_earlier_twin_until_claimed_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The first twin streams: DOWNLOADING, UPLOADING, DOWNLOADING again (its next part).
    It keeps its place ahead of the twin that started after it; a new attempt (a claim)
    starts its fetch anew, behind that twin."""
    first, later = await _fetching_twins(sessions, (311, 312), "youtube:parts")
    for state in (RequestState.UPLOADING, RequestState.DOWNLOADING):
        async with sessions.begin() as session:
            await RequestRows(session).set_state(first, state)
    async with sessions() as session:
        files = RequestRows(session)
        assert await files.being_fetched(await _row(files, later))
        assert not await files.being_fetched(await _row(files, first))

    async with sessions.begin() as session:
        files = RequestRows(session)
        await files.release(first, "worker-311", expire=True)
        assert await files.claim(first, "worker-313", timedelta(minutes=1))
        assert (await _row(files, first)).fetch_started_at is None
        await files.set_state(first, RequestState.DOWNLOADING)
    async with sessions() as session:
        files = RequestRows(session)
        assert await files.being_fetched(await _row(files, first))
        assert not await files.being_fetched(await _row(files, later))


async def _fetching_twins(
    sessions: async_sessionmaker[AsyncSession], users: tuple[int, ...], key: str
) -> list[uuid.UUID]:
    """A 720p request of `key` for each user, claimed by a worker of its own and moved to
    DOWNLOADING in turn, 10 ms apart."""
    twins = []
    for user in users:
        async with sessions.begin() as session:
            offer = await _offer(session, telegram_id=user, key=key)
            files = RequestRows(session)
            await files.choose(offer.id, Variant(MediaKind.VIDEO, 720))
            assert await files.claim(offer.id, f"worker-{user}", timedelta(minutes=1))
            await files.set_state(offer.id, RequestState.DOWNLOADING)
            twins.append(offer.id)
        await asyncio.sleep(0.01)
    return twins


async def _row(files: RequestRows, request_id: uuid.UUID) -> RequestRow:
    row = await files.get(request_id)
    assert row is not None
    return row


async def _queued(
    sessions: async_sessionmaker[AsyncSession], telegram_id: int, key: str
) -> uuid.UUID:
    async with sessions.begin() as session:
        offer = await _offer(session, telegram_id=telegram_id, key=key)
        files = RequestRows(session)
        await files.choose(offer.id, Variant(MediaKind.AUDIO))
        await files.set_state(offer.id, RequestState.QUEUED)
        return offer.id


async def test_a_user_beyond_their_share_waits_while_others_are_claimed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second = [await _queued(sessions, 401, f"youtube:share{n}") for n in (1, 2)]
    other_user = await _queued(sessions, 402, "youtube:share3")
    lease = timedelta(minutes=1)
    async with sessions.begin() as session:
        files = RequestRows(session)
        assert await files.claim(first, "w1", lease, max_per_user=1)
    async with sessions.begin() as session:
        files = RequestRows(session)
        assert not await files.claim(second, "w2", lease, max_per_user=1)
        assert await files.defer_if_waiting(second)  # waits its turn: not a skip
        assert await files.claim(second, "w2", lease, max_per_user=2)
    async with sessions.begin() as session:
        files = RequestRows(session)
        assert await files.claim(other_user, "w3", lease, max_per_user=1)
        # Held by a live worker: a skip, not a wait.
        assert not await files.defer_if_waiting(first)
        await files.set_state(first, RequestState.DELIVERED)
        await files.set_state(second, RequestState.DELIVERED)
        assert not await files.defer_if_waiting(first)  # ended: a skip
        refused = await files.get(second)
    assert refused is not None and refused.attempts == 1, "a refused claim is no attempt"


async def test_racing_claims_of_one_users_requests_respect_the_share(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await _queued(sessions, 403, f"youtube:race{n}") for n in range(4)]

    async def claim(file_id: uuid.UUID, owner: str) -> bool:
        async with sessions.begin() as session:
            return await RequestRows(session).claim(
                file_id, owner, timedelta(minutes=1), max_per_user=1
            )

    results = await asyncio.gather(*(claim(file_id, f"w{n}") for n, file_id in enumerate(ids)))
    assert sorted(results) == [False, False, False, True]
    winner = ids[results.index(True)]
    later = [file_id for file_id in ids if file_id != winner]
    async with sessions.begin() as session:
        await RequestRows(session).set_state(winner, RequestState.DELIVERED)

    # A claim made while another one's transaction is still open waits for it to end
    # (PostgreSQL: the user's row lock; SQLite: the one writer), then counts its lease.
    async with sessions() as session:
        assert await RequestRows(session).claim(
            later[0], "first", timedelta(minutes=1), max_per_user=1
        )
        racing = asyncio.create_task(claim(later[1], "second"))
        await asyncio.sleep(0.3)
        assert not racing.done()
        await session.commit()
    assert not await racing


async def test_a_blocked_chat_ends_its_pending_requests_until_it_writes_again(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    pending = [await _queued(sessions, 404, f"youtube:blocked{n}") for n in range(2)]
    async with sessions.begin() as session:
        offer = await _offer(session, telegram_id=404, key="youtube:blocked-offer")
        delivered = await _offer(session, telegram_id=404, key="youtube:blocked-done")
        await RequestRows(session).set_state(delivered.id, RequestState.DELIVERED)
    async with sessions.begin() as session:
        chat = await ChatRepository(session).by_telegram_id(404)
        assert chat is not None
        await ChatRepository(session).mark_blocked(chat.id)
        ended = await RequestRows(session).end_pending_of_chat(
            chat.id, RequestState.FAILED, "chat unreachable: Forbidden"
        )
    assert sorted(ended) == sorted(pending)
    async with sessions() as session:
        chat = await ChatRepository(session).by_telegram_id(404)
        files = RequestRows(session)
        states = {file_id: (await files.get(file_id)) for file_id in [*pending, offer.id]}
    assert chat is not None and chat.blocked_at is not None
    assert all(
        file is not None and file.state is RequestState.FAILED and file.error_reason
        for file_id, file in states.items()
        if file_id in pending
    )
    offer_now = states[offer.id]
    assert offer_now is not None and offer_now.state is RequestState.OFFERED
    async with sessions.begin() as session:
        user_id = await UserRepository(session).upsert(TelegramUser(404, "Ann"))
        await ChatRepository(session).upsert(TelegramChat(404, "private"), user_id)
    async with sessions() as session:
        chat = await ChatRepository(session).by_telegram_id(404)
    assert chat is not None and chat.blocked_at is None


async def test_a_hand_back_gives_its_attempt_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    file_id = await _queued(sessions, 405, "youtube:refund")
    async with sessions.begin() as session:
        files = RequestRows(session)
        assert await files.claim(file_id, "stopping", timedelta(minutes=1))
        await files.release(file_id, "stopping", expire=True)
        assert await files.claim(file_id, "next", timedelta(minutes=1))
        await files.release(file_id, "next")  # a failed attempt keeps its count
        file = await files.get(file_id)
    assert file is not None and file.attempts == 1
