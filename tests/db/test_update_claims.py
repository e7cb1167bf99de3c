"""Claims on Telegram updates: one holder per update, on both databases, across processes."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mediabot.db.migrate import upgrade
from mediabot.db.models import UpdateClaim
from mediabot.db.updates import KEEP_S, Busy, Claimed, Handled, UpdateClaims

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


@pytest.mark.parametrize("empty_db_url", ["postgresql"], indirect=True)
async def test_of_many_deliveries_at_once_to_many_processes_one_claims(empty_db_url: str) -> None:
    """Three processes (engines), each getting every update twice at once: each update is
    claimed exactly once. Each engine has a few connections, so the claims queue for them
    as a busy process's do (and the test leaves room on the server for tests beside it)."""
    engines = [
        create_async_engine(empty_db_url, pool_size=4, max_overflow=0, pool_timeout=120)
        for _ in range(3)
    ]
    try:
        await upgrade(engines[0])
        processes = [_claims(engine, f"host-{n}") for n, engine in enumerate(engines)]
        ids = range(1000, 1030)
        results = await asyncio.gather(
            *(process.claim(update_id) for update_id in ids for process in processes * 2)
        )
    finally:
        for engine in engines:
            await engine.dispose()
    per_update = [results[n * 6 : (n + 1) * 6] for n in range(len(ids))]
    for outcomes in per_update:
        assert sum(isinstance(outcome, Claimed) for outcome in outcomes) == 1, outcomes
        assert all(isinstance(outcome, Claimed | Busy) for outcome in outcomes), outcomes
