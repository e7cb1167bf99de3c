"""Telegram's budget in PostgreSQL: pacers of separate engines (as of separate processes)
drawing from one database stay under the bot's rate together, and a 429 one of them saw
holds all of them back."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.budget import PostgresBudget
from mediabot.db.engine import create_engine
from mediabot.db.migrate import alembic_config, downgrade, upgrade
from mediabot.telegram.budget import HOLD_S, Limits, Rate
from mediabot.telegram.pacing import Pacer

PROCESSES = 3
LIMITS = Limits(overall=Rate(20.0, burst=2), per_chat=Rate(2.0, burst=2))


@pytest.fixture
def budget_db_url(make_pg_database: Callable[[], str]) -> str:
    return make_pg_database()


@pytest.fixture
async def engines(budget_db_url: str) -> AsyncIterator[list[AsyncEngine]]:
    """A fresh migrated PostgreSQL database and one engine on it per "process"."""
    url = budget_db_url
    first = create_engine(url)
    await upgrade(first)
    engines = [first, *(create_engine(url) for _ in range(PROCESSES - 1))]
    yield engines
    for engine in engines:
        await engine.dispose()


def _pacers(engines: list[AsyncEngine]) -> list[Pacer]:
    return [Pacer(PostgresBudget(engine, LIMITS)) for engine in engines]


async def test_pacers_sharing_the_database_stay_under_the_bots_rate_together(
    engines: list[AsyncEngine],
) -> None:
    pacers = _pacers(engines)
    per_pacer = 20
    sent: list[float] = []

    async def send(pacer: Pacer, chat_id: int) -> None:
        await pacer.acquire(chat_id)
        sent.append(time.monotonic())

    start = time.monotonic()
    async with asyncio.timeout(60):
        await asyncio.gather(
            *(
                send(pacer, 1000 * number + chat)
                for number, pacer in enumerate(pacers)
                for chat in range(per_pacer)
            )
        )
    # Each pacer alone would be done within a second; together they take the bot's rate:
    # 60 messages at 20 a second after a burst of 2 cannot end before 2.9 s.
    total = PROCESSES * per_pacer
    assert sent[-1] - start >= (total - LIMITS.overall.burst) / LIMITS.overall.per_second - 0.05
    assert len(sent) == total


async def test_one_chat_is_paced_across_processes(engines: list[AsyncEngine]) -> None:
    pacers = _pacers(engines)
    start = time.monotonic()
    async with asyncio.timeout(60):
        await asyncio.gather(*(pacer.acquire(77) for pacer in pacers for _ in range(2)))
    # 6 messages to one chat at 2 a second after a burst of 2: at least 2 s
    assert time.monotonic() - start >= (6 - 2) / 2.0 - 0.05


async def test_a_429_one_process_saw_holds_the_chat_in_every_process(
    engines: list[AsyncEngine],
) -> None:
    first, second, _ = _pacers(engines)
    assert not await first.penalize(7, 30.0)
    assert await second.delay(7) == pytest.approx(30.0, abs=1.0)
    assert await second.has_room(8)
    slot = await PostgresBudget(engines[2], LIMITS).take(7, 1)
    assert not slot.reserved  # held: waited for without a slot in the bot-wide bucket
    assert slot.wait_s > HOLD_S
    assert await second.has_room(8)


async def test_429s_from_three_chats_hold_every_chat_of_every_process(
    engines: list[AsyncEngine],
) -> None:
    pacers = _pacers(engines)
    chats = (1, 2, 3)
    verdicts = [await pacer.penalize(chat, 10.0) for pacer, chat in zip(pacers, chats, strict=True)]
    assert verdicts == [False, False, True]
    for pacer in pacers:
        assert not await pacer.has_room(4)
        assert await pacer.delay(4) == pytest.approx(10.0, abs=1.0)


async def test_a_429_without_a_chat_holds_everyone(engines: list[AsyncEngine]) -> None:
    first, second, _ = _pacers(engines)
    assert await first.penalize(None, 5.0)
    assert not await second.has_room(9)


async def test_takes_and_holds_at_once_never_deadlock(engines: list[AsyncEngine]) -> None:
    """Takers lock the bot's row before a chat's; so do holds: no order of the two waits."""
    fast = Limits(overall=Rate(1000.0, burst=50), per_chat=Rate(1000.0, burst=50))
    budgets = [PostgresBudget(engine, fast) for engine in engines]

    async def churn(budget: PostgresBudget, offset: int) -> None:
        for step in range(30):
            chat = (offset + step) % 5 + 1
            if step % 7 == 0:
                await budget.hold(chat, 0.01)
            else:
                await budget.take(chat, 1)

    async with asyncio.timeout(60):
        await asyncio.gather(*(churn(budget, n) for n, budget in enumerate(budgets)))


async def test_takes_asked_together_go_in_one_statement_in_the_order_asked(
    engines: list[AsyncEngine],
) -> None:
    """A process with many senders waiting reserves their slots in one round trip, not
    one statement each behind the others."""
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if "telegram_budget_take" in statement:
            statements.append(statement)

    engine = engines[0]
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    budget = PostgresBudget(engine, Limits(overall=Rate(10.0, burst=1)))
    try:
        slots = await asyncio.gather(*(budget.take(100 + chat, 1) for chat in range(20)))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1
    waits = [slot.wait_s for slot in slots]
    assert all(slot.reserved for slot in slots)
    # one slot each, a tenth of a second apart, in the order asked
    assert [later - earlier for earlier, later in itertools.pairwise(waits)] == pytest.approx(
        [0.1] * 19, abs=0.01
    )


async def test_a_take_given_up_before_its_statement_reserves_nothing(
    engines: list[AsyncEngine],
) -> None:
    budget = PostgresBudget(engines[0], Limits(overall=Rate(1.0, burst=1)))
    given_up = asyncio.create_task(budget.take(5, 1))
    await asyncio.sleep(0)  # asked, not yet taken
    given_up.cancel()
    taken_at = time.monotonic()
    slot = await budget.take(6, 1)
    assert slot.reserved
    assert slot.wait_s == pytest.approx(0.0, abs=0.05)  # the bot's first slot was free
    delay = await budget.delay(7)
    # One slot reserved (the next one a second after it), not two (two seconds).
    assert 1.0 - (time.monotonic() - taken_at) - 0.05 <= delay <= 1.05
    assert given_up.cancelled()


async def test_the_flood_evidence_migration_goes_down_to_the_hold_it_replaced(
    budget_db_url: str,
) -> None:
    """Down from it, `telegram_budget_hold` is 0007's again: three chats, and everyone
    waits the third one's seconds (True); up again, the seconds everyone waits."""
    script = ScriptDirectory.from_config(alembic_config())
    revision = next(r for r in script.walk_revisions() if r.path.endswith("_flood_evidence.py"))
    hold = text("SELECT telegram_budget_hold(:chat, :seconds, 0, 0, 3, 60)")
    engine = create_engine(budget_db_url)
    try:
        await upgrade(engine)
        assert isinstance(revision.down_revision, str)
        await downgrade(engine, revision.down_revision)
        async with engine.connect() as connection:
            verdicts = [
                await connection.scalar(hold, {"chat": chat, "seconds": seconds})
                for chat, seconds in ((1, 1.0), (2, 1.0), (3, 200.0))
            ]
        assert verdicts == [False, False, True]
        await upgrade(engine)
        async with engine.connect() as connection:
            waits = [
                await connection.scalar(hold, {"chat": chat, "seconds": seconds})
                for chat, seconds in ((4, 1.0), (5, 1.0), (6, 200.0))
            ]
        assert waits[:2] == [0, 0]
        assert waits[2] == pytest.approx(1.0, abs=0.5)
    finally:
        await engine.dispose()
