"""The shared Telegram budget away: each process sends on a budget of its own, at a share of
the rates, and goes back to the shared one as soon as it answers."""

from __future__ import annotations

import asyncio
import errno
import logging

import pytest

from mediabot.db.budget import PostgresBudget
from mediabot.db.engine import create_engine
from mediabot.db.migrate import upgrade
from mediabot.telegram.budget import Limits, Rate, Slot
from mediabot.telegram.fallback import LOCAL_SHARE, FallbackBudget, local_limits
from mediabot.telegram.pacing import Pacer
from tests.support.clock import FakeClock
from tests.support.postgres_cluster import PostgresCluster

LIMITS = Limits(overall=Rate(20.0, burst=1), per_chat=Rate(2.0, burst=1))


class _Shared:
    """A shared budget that fails while `away`, else hands out slots at once."""

    def __init__(self, *, hang: bool = False) -> None:
        self.away = True
        self.hang = hang
        self.asked = 0

    @property
    def limits(self) -> Limits:
        return LIMITS

    async def _answer(self) -> None:
        self.asked += 1
        if self.away:
            if self.hang:
                await asyncio.Event().wait()
            raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")

    async def take(self, chat_id: int, weight: int) -> Slot:
        await self._answer()
        return Slot(0.0)

    async def delay(self, chat_id: int) -> float:
        await self._answer()
        return 0.0

    async def hold(self, chat_id: int | None, seconds: float) -> float:
        await self._answer()
        return 0.0


def test_the_local_budget_is_a_share_of_the_shared_one() -> None:
    local = local_limits(LIMITS)
    assert local.overall.per_second == pytest.approx(LIMITS.overall.per_second * LOCAL_SHARE)
    assert local.per_chat.per_second < LIMITS.per_chat.per_second


async def test_while_the_shared_budget_fails_slots_come_from_the_local_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    shared = _Shared()
    budget = FallbackBudget(shared, retry_shared_s=1.0, clock=clock)
    with caplog.at_level(logging.WARNING):
        slots = [await budget.take(chat, 1) for chat in range(1, 11)]
    # Ten chats at once: spaced at the local bot-wide rate (5 a second), none refused.
    interval = 1 / local_limits(LIMITS).overall.per_second
    assert [slot.wait_s for slot in slots] == pytest.approx([n * interval for n in range(10)])
    assert budget.on_local and shared.asked == 1  # asked again only after `retry_shared_s`
    assert caplog.text.count("does not answer") == 1

    clock.now += 1.0
    await budget.take(11, 1)
    assert shared.asked == 2 and budget.on_local

    shared.away = False
    clock.now += 1.0
    with caplog.at_level(logging.INFO):
        assert await budget.take(12, 1) == Slot(0.0)
    assert not budget.on_local and "answers again" in caplog.text
    assert await budget.delay(12) == 0.0 and shared.asked == 4

    # Back and forth as a database just restarted may be: said again once a minute at most.
    for _ in range(2):
        shared.away = True
        with caplog.at_level(logging.WARNING):
            await budget.take(13, 1)
        shared.away = False
        clock.now += 1.0
        await budget.take(13, 1)
    assert caplog.text.count("does not answer") == 1
    shared.away = True
    clock.now += 60.0
    with caplog.at_level(logging.WARNING):
        await budget.take(14, 1)
    assert caplog.text.count("does not answer") == 2


async def test_a_shared_budget_that_does_not_answer_counts_as_away() -> None:
    shared = _Shared(hang=True)
    budget = FallbackBudget(shared, shared_timeout_s=0.05)
    slot = await asyncio.wait_for(budget.take(1, 1), 5)
    assert slot.reserved and budget.on_local
    assert await budget.hold(1, 10.0) == 0  # recorded locally: that chat waits here
    assert await budget.delay(1) > 5


@pytest.mark.integration
async def test_a_pacer_sends_through_a_database_restart(
    postgres_cluster: PostgresCluster,
) -> None:
    url = await postgres_cluster.create_database("budget")
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    await upgrade(engine)
    budget = FallbackBudget(PostgresBudget(engine, LIMITS), retry_shared_s=0.0)
    pacer = Pacer(budget)
    try:
        await pacer.acquire(1)
        assert not budget.on_local
        await asyncio.to_thread(postgres_cluster.stop)
        try:
            for chat in range(2, 5):
                await asyncio.wait_for(pacer.acquire(chat), 5)
            assert budget.on_local
        finally:
            await asyncio.to_thread(postgres_cluster.start)
        await pacer.acquire(5)
        assert not budget.on_local
    finally:
        await engine.dispose()
