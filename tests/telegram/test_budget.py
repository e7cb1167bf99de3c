"""The `Budget` contract on flood waits, one set of tests for both budgets.

`MemoryBudget` (the embedded mode) runs on a fake clock; `PostgresBudget` on the database's
clock, where time is made to pass by moving every stored time back instead. Both must hold
one chat for its own wait and every chat only while enough chats are held at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text

from mediabot.db.budget import PostgresBudget
from mediabot.db.engine import create_engine
from mediabot.db.migrate import upgrade
from mediabot.telegram.budget import FLOOD_SPREAD_WINDOW_S, Budget, MemoryBudget
from tests.support.clock import FakeClock

# Waits measured on the database's clock drift by the time the statements take.
DRIFT_S = 0.5
BYSTANDER = 4


@dataclass
class Subject:
    """A budget and a way to let `seconds` pass for it at once."""

    budget: Budget
    travel: Callable[[float], Awaitable[None]]


@pytest.fixture(scope="module")
def budget_pg_url(make_pg_database: Callable[[], str]) -> Iterator[str]:
    """One migrated database for the module; each test empties the budget's table."""
    url = make_pg_database()

    async def migrate() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    yield url


@pytest.fixture(params=["memory", "postgresql"])
async def subject(request: pytest.FixtureRequest, budget_pg_url: str) -> AsyncIterator[Subject]:
    if request.param == "memory":
        clock = FakeClock(start=1000.0)

        async def tick(seconds: float) -> None:
            clock.now += seconds

        yield Subject(MemoryBudget(clock=clock), tick)
        return
    engine = create_engine(budget_pg_url)
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM telegram_budget"))
        await connection.execute(text("INSERT INTO telegram_budget (chat_id, tat) VALUES (0, 0)"))

    async def back_date(seconds: float) -> None:
        # Every time stored moved back by `seconds`: as if the clock had moved on.
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE telegram_budget SET tat = tat - :s, flood_at = flood_at - :s, "
                    "flood_until = flood_until - :s"
                ),
                {"s": seconds},
            )

    try:
        yield Subject(PostgresBudget(engine), back_date)
    finally:
        await engine.dispose()


def _about(seconds: float) -> object:
    return pytest.approx(seconds, abs=DRIFT_S)


async def test_one_chats_long_wait_among_three_holds_everyone_only_for_the_short_ones(
    subject: Subject,
) -> None:
    budget = subject.budget
    assert await budget.hold(1, 1.0) == 0
    assert await budget.hold(2, 1.0) == 0
    assert await budget.hold(3, 200.0) == _about(1.0)
    assert await budget.delay(BYSTANDER) == _about(1.0)
    assert await budget.delay(1) == _about(1.0)
    assert await budget.delay(3) == _about(200.0)
    await subject.travel(2.0)
    assert await budget.delay(BYSTANDER) <= 0
    assert (await budget.take(BYSTANDER, 1)).reserved
    assert not (await budget.take(3, 1)).reserved  # the long wait's chat is still held


async def test_the_order_of_the_waits_makes_no_difference(subject: Subject) -> None:
    budget = subject.budget
    assert await budget.hold(3, 200.0) == 0
    assert await budget.hold(1, 1.0) == 0
    assert await budget.hold(2, 1.0) == _about(1.0)
    assert await budget.delay(BYSTANDER) == _about(1.0)


async def test_everyone_waits_while_three_chats_are_held(subject: Subject) -> None:
    """The third longest wait of the recent chats is how long three of them stay held."""
    budget = subject.budget
    assert await budget.hold(1, 300.0) == 0
    assert await budget.hold(2, 200.0) == 0
    assert await budget.hold(3, 100.0) == _about(100.0)
    assert await budget.delay(BYSTANDER) == _about(100.0)
    assert await budget.hold(5, 150.0) == _about(150.0)
    assert await budget.delay(BYSTANDER) == _about(150.0)


async def test_a_hold_for_everyone_is_never_shortened(subject: Subject) -> None:
    budget = subject.budget
    for chat in (1, 2, 3):
        await budget.hold(chat, 100.0)
    assert await budget.hold(5, 1.0) == _about(100.0)
    assert await budget.hold(None, 1.0) == _about(1.0)
    assert await budget.delay(BYSTANDER) == _about(100.0)


async def test_a_chats_repeated_429s_count_once(subject: Subject) -> None:
    budget = subject.budget
    for _ in range(3):
        assert await budget.hold(1, 5.0) == 0
    assert await budget.hold(2, 5.0) == 0
    assert await budget.delay(BYSTANDER) <= 0


async def test_a_chat_counts_until_the_latest_end_of_its_waits(subject: Subject) -> None:
    budget = subject.budget
    assert await budget.hold(1, 100.0) == 0
    assert await budget.hold(2, 50.0) == 0
    assert await budget.hold(1, 1.0) == 0  # a shorter wait does not end chat 1's sooner
    assert await budget.hold(3, 200.0) == _about(50.0)


async def test_waits_already_over_are_no_evidence(subject: Subject) -> None:
    budget = subject.budget
    assert await budget.hold(1, 1.0) == 0
    assert await budget.hold(2, 1.0) == 0
    await subject.travel(2.0)
    assert await budget.hold(3, 200.0) == 0  # chats 1 and 2 may send again: only 3 is held
    assert await budget.delay(BYSTANDER) <= 0


async def test_429s_older_than_the_window_are_no_evidence(subject: Subject) -> None:
    budget = subject.budget
    assert await budget.hold(1, 500.0) == 0
    assert await budget.hold(2, 500.0) == 0
    await subject.travel(FLOOD_SPREAD_WINDOW_S + 1)
    assert await budget.hold(3, 500.0) == 0  # 1 and 2 are held, but since long ago
    assert await budget.delay(BYSTANDER) <= 0
    # A chat's new 429 after the window counts for its new wait alone.
    assert await budget.hold(1, 1.0) == 0
    assert await budget.hold(5, 500.0) == _about(1.0)
    assert await budget.delay(BYSTANDER) == _about(1.0)


async def test_a_429_without_a_chat_holds_everyone_for_its_own_seconds(subject: Subject) -> None:
    budget = subject.budget
    assert await budget.hold(None, 5.0) == _about(5.0)
    assert await budget.delay(BYSTANDER) == _about(5.0)
    # It is about the bot, not a chat: it does not make two flooded chats three.
    assert await budget.hold(1, 200.0) == 0
    assert await budget.hold(2, 200.0) == 0
