"""Claims on Telegram updates: one holder per update, on both databases, across processes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mediabot.db.migrate import upgrade
from mediabot.db.models import Chat, UpdateClaim, User
from mediabot.db.repositories import TelegramChat, TelegramUser
from mediabot.db.updates import KEEP_S, Busy, Claimed, Handled, UpdateClaims
from mediabot.db.visits import Visitor

LEASE_S = 30.0


def _claims(engine: AsyncEngine, owner: str) -> UpdateClaims:
    return UpdateClaims(engine, owner=owner, lease_s=LEASE_S)


async def _age(engine: AsyncEngine, update_id: int, column: str, seconds: float) -> None:
    """Move one of the claim's times `seconds` into the past, as if that long had passed."""
    time_of = getattr(UpdateClaim, column)
    async with engine.begin() as connection:
        await connection.execute(
            update(UpdateClaim)
            .where(UpdateClaim.update_id == update_id)
            .values({time_of: time_of - seconds})
        )


async def test_the_first_delivery_claims_and_the_next_finds_it_busy(engine: AsyncEngine) -> None:
    first, second = _claims(engine, "host-1"), _claims(engine, "host-2")
    claimed = await first.claim(101)
    assert isinstance(claimed, Claimed) and claimed.owner.startswith("host-1/")

    busy = await second.claim(101)
    assert isinstance(busy, Busy)
    assert 0 < busy.retry_in_s <= LEASE_S
    # A second delivery to the same process is another claim, and waits the same way.
    assert isinstance(await first.claim(101), Busy)
    assert isinstance(await second.claim(102), Claimed)  # other updates are free


async def test_a_handled_update_is_dropped_by_every_process(engine: AsyncEngine) -> None:
    first, second = _claims(engine, "host-1"), _claims(engine, "host-2")
    claimed = await first.claim(7)
    assert isinstance(claimed, Claimed)
    assert await first.finish(claimed)

    assert isinstance(await second.claim(7), Handled)
    assert isinstance(await first.claim(7), Handled)


async def test_a_claim_whose_lease_ran_out_is_taken_over(engine: AsyncEngine) -> None:
    """The holder died before finishing: the next delivery handles the update."""
    dead, alive = _claims(engine, "host-dead"), _claims(engine, "host-alive")
    lost = await dead.claim(55)
    assert isinstance(lost, Claimed)
    await _age(engine, 55, "lease_until", LEASE_S + 1)

    taken = await alive.claim(55)
    assert isinstance(taken, Claimed) and taken.owner.startswith("host-alive/")
    # The old holder, were it only stalled, learns it lost the update.
    assert not await dead.renew(lost)
    assert not await dead.finish(lost)
    assert await alive.finish(taken)
    assert isinstance(await dead.claim(55), Handled)


async def test_renewing_keeps_the_update_held(engine: AsyncEngine) -> None:
    holder, other = _claims(engine, "host-1"), _claims(engine, "host-2")
    claimed = await holder.claim(9)
    assert isinstance(claimed, Claimed)
    await _age(engine, 9, "lease_until", LEASE_S - 1)  # about to run out
    renewed_at = time.monotonic()
    assert await holder.renew(claimed)

    busy = await other.claim(9)
    # A lease not renewed would have under a second left; a loaded machine may take
    # seconds between the two statements, which the renewed lease has spent.
    since = time.monotonic() - renewed_at
    assert isinstance(busy, Busy) and busy.retry_in_s > LEASE_S - 1 - since


async def test_prune_deletes_only_claims_older_than_a_day(engine: AsyncEngine) -> None:
    claims = _claims(engine, "host-1")
    old, fresh = await claims.claim(1), await claims.claim(2)
    assert isinstance(old, Claimed) and isinstance(fresh, Claimed)
    await claims.finish(old)
    await _age(engine, 1, "claimed_at", KEEP_S + 1)

    assert await claims.prune() == 1
    async with engine.connect() as connection:
        left = (await connection.execute(text("SELECT update_id FROM updates"))).scalars().all()
    assert left == [2]


def _visitor(update_id: int) -> Visitor:
    """One of four people, in their private chat."""
    return Visitor(TelegramUser(update_id % 4), TelegramChat(update_id % 4, "private"))


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("visits", [False, True], ids=["claims", "claims-and-visits"])
async def test_of_many_deliveries_at_once_to_many_processes_one_claims(
    empty_db_url: str, visits: bool
) -> None:
    """Three processes (engines), each getting every update twice at once: each update is
    claimed exactly once (and, with the visits recorded by the claims, its sender recorded).
    Each engine has a few connections, so the claims queue for them as a busy process's do
    (and the test leaves room on the server for tests beside it)."""
    engines = [
        create_async_engine(empty_db_url, pool_size=4, max_overflow=0, pool_timeout=120)
        for _ in range(3)
    ]
    try:
        await upgrade(engines[0])
        processes = [_claims(engine, f"host-{n}") for n, engine in enumerate(engines)]
        ids = range(1000, 1030)
        results = await asyncio.gather(
            *(
                process.claim(update_id, _visitor(update_id) if visits else None)
                for update_id in ids
                for process in processes * 2
            )
        )
        async with engines[0].connect() as connection:
            users = (await connection.execute(select(func.count()).select_from(User))).scalar()
    finally:
        for engine in engines:
            await engine.dispose()
    assert users == (4 if visits else 0)
    per_update = [results[n * 6 : (n + 1) * 6] for n in range(len(ids))]
    for outcomes in per_update:
        claimed = [outcome for outcome in outcomes if isinstance(outcome, Claimed)]
        assert len(claimed) == 1, outcomes
        assert (claimed[0].visit is not None) == visits
        assert all(isinstance(outcome, Claimed | Busy) for outcome in outcomes), outcomes


GROUP_ID = -1_001_000_000_071
ANN = Visitor(TelegramUser(71, "Ann", language_code="de"), TelegramChat(GROUP_ID, "group"))


async def test_a_claim_with_its_visitor_records_the_visit_in_the_same_go(
    engine: AsyncEngine,
) -> None:
    first, second = _claims(engine, "host-1"), _claims(engine, "host-2")
    claimed = await first.claim(301, ANN)
    assert isinstance(claimed, Claimed) and claimed.visit is not None
    visit = claimed.visit
    assert visit.language is None and not visit.banned and visit.chat_row_id is not None
    async with engine.connect() as connection:
        user = (
            await connection.execute(select(User.id, User.first_name).where(User.telegram_id == 71))
        ).one()
        chat = (
            await connection.execute(
                select(Chat.id, Chat.user_id).where(Chat.telegram_id == GROUP_ID)
            )
        ).one()
    assert tuple(user) == (visit.user_row_id, "Ann")
    assert tuple(chat) == (visit.chat_row_id, visit.user_row_id)

    # Another delivery meanwhile finds the update held, and after its end handled.
    assert isinstance(await second.claim(301, ANN), Busy)
    assert await first.finish(claimed)
    assert isinstance(await second.claim(301, ANN), Handled)
    # An inline query has no chat: the user alone.
    alone = await second.claim(302, Visitor(ANN.user))
    assert isinstance(alone, Claimed) and alone.visit is not None
    assert (alone.visit.user_row_id, alone.visit.chat_row_id) == (visit.user_row_id, None)


async def test_a_claim_with_its_visitor_reads_the_language_and_the_ban(
    engine: AsyncEngine,
) -> None:
    claims = _claims(engine, "host-1")
    first = await claims.claim(311, ANN)
    assert isinstance(first, Claimed) and first.visit is not None
    async with engine.begin() as connection:
        await connection.execute(
            update(User).where(User.telegram_id == 71).values(language="ru", banned_at=func.now())
        )
    again = await claims.claim(312, ANN)
    assert isinstance(again, Claimed) and again.visit is not None
    assert again.visit.user_row_id == first.visit.user_row_id
    assert again.visit.language == "ru" and again.visit.banned


async def test_ends_asked_for_at_once_go_in_one_statement_each_told_its_own(
    engine: AsyncEngine,
) -> None:
    """A burst's ends: one statement marks the claims waiting while another is under way;
    each learns whether its own claim was still its own."""
    claims, other = _claims(engine, "host-1"), _claims(engine, "host-2")
    taken = [await claims.claim(update_id) for update_id in range(401, 411)]
    held = [claim for claim in taken if isinstance(claim, Claimed)]
    assert len(held) == len(taken)
    lost = held[3]
    await _age(engine, 404, "lease_until", LEASE_S + 1)
    assert isinstance(await other.claim(404), Claimed)  # taken over: 404 is not ours now
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE UPDATES"):
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        ends = await asyncio.gather(*(claims.finish(claim) for claim in held))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert ends == [claim is not lost for claim in held]
    assert len(statements) <= 2  # the first alone (nothing under way), the rest together
    for update_id in range(401, 411):
        if update_id != 404:
            assert isinstance(await other.claim(update_id), Handled)
