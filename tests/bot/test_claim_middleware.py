"""The claim middleware: an update runs its handler once, whatever delivers it how often.

A dispatcher with one recording handler behind `UpdateClaimMiddleware`, on a real database
(both kinds); a second `UpdateClaims` on the same database plays another process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Message, TelegramObject
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.bot.claims import UpdateBusyError, UpdateClaimMiddleware
from mediabot.bot.middlewares import DatabaseMiddleware, visitor_of
from mediabot.db.engine import create_session_factory
from mediabot.db.models import Chat, User
from mediabot.db.updates import Busy, Claimed, Handled, UpdateClaims
from mediabot.db.visits import Visit, Visits
from tests.support.recording import Recorder, message_update, recording_dispatcher

LEASE_S = 30.0


@dataclass
class Bench:
    recorder: Recorder
    bot: Bot
    engine: AsyncEngine
    release: Callable[[], None] = field(default=lambda: None)
    """Lets the handler held by `feed_and_hold` go on."""

    @property
    def handled(self) -> list[str]:
        return self.recorder.handled

    @property
    def claims(self) -> UpdateClaims:
        return self.recorder.claims

    def behave(self, behaviour: Callable[[str], Awaitable[None]] | None) -> None:
        self.recorder.behaviour = behaviour

    async def feed(self, update: dict[str, Any]) -> Any:
        return await self.recorder.dispatcher.feed_raw_update(self.bot, update)

    async def feed_and_hold(self, update: dict[str, Any]) -> asyncio.Task[Any]:
        """Feed `update` with its handler held, until it has started; the feeding task."""
        gate = asyncio.Event()
        self.behave(lambda _: gate.wait())
        feeding = asyncio.create_task(self.feed(update))
        await self.recorder.started.wait()
        self.release = gate.set
        return feeding

    def other_process(self) -> UpdateClaims:
        return UpdateClaims(self.engine, owner="other-host-1", lease_s=LEASE_S)

    async def age_lease(self, update_id: int, seconds: float) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                text("UPDATE updates SET lease_until = lease_until - :s WHERE update_id = :id"),
                {"s": seconds, "id": update_id},
            )


def _bench(engine: AsyncEngine, bot: Bot, **options: Any) -> Bench:
    return Bench(recording_dispatcher(engine, **options), bot, engine)


@pytest.fixture
def webhook(engine: AsyncEngine, telegram_bot: Bot) -> Bench:
    return _bench(engine, telegram_bot, wait_when_busy=False)


async def test_an_update_delivered_twice_runs_its_handler_once(webhook: Bench) -> None:
    update = message_update("once")
    await webhook.feed(update)
    assert await webhook.feed(update) is UNHANDLED
    assert webhook.handled == ["once"]


async def test_a_delivery_while_another_handles_the_update_is_refused(webhook: Bench) -> None:
    """Webhook mode: Telegram is asked to come back when the holder's lease may be over."""
    update = message_update("slow")
    first = await webhook.feed_and_hold(update)

    with pytest.raises(UpdateBusyError) as refused:
        await webhook.feed(update)
    assert 1 <= refused.value.retry_after <= LEASE_S + 1
    webhook.release()
    await first
    assert await webhook.feed(update) is UNHANDLED
    assert webhook.handled == ["slow"]


async def test_an_update_whose_holder_died_is_handled_by_the_next_delivery(
    webhook: Bench,
) -> None:
    update = message_update("orphan")
    dead = await webhook.other_process().claim(update["update_id"])
    assert isinstance(dead, Claimed)
    with pytest.raises(UpdateBusyError):
        await webhook.feed(update)  # its lease is live: not yet
    await webhook.age_lease(update["update_id"], LEASE_S + 1)

    await webhook.feed(update)
    assert webhook.handled == ["orphan"]
    assert isinstance(await webhook.other_process().claim(update["update_id"]), Handled)


async def test_a_poller_waits_for_a_held_update_and_takes_it_over_when_its_lease_ends(
    engine: AsyncEngine, telegram_bot: Bot
) -> None:
    """A restarted poller gets again the updates its dead predecessor had claimed."""
    waits: list[float] = []
    update = message_update("left behind")

    async def sleep(seconds: float) -> None:  # the wait passes: the dead claim runs out
        waits.append(seconds)
        await bench.age_lease(update["update_id"], seconds)

    bench = _bench(engine, telegram_bot, wait_when_busy=True, sleep=sleep)
    assert isinstance(await bench.other_process().claim(update["update_id"]), Claimed)

    await bench.feed(update)
    assert bench.handled == ["left behind"]
    assert len(waits) == 1 and LEASE_S - 1 < waits[0] <= LEASE_S + 1


async def test_a_poller_drops_a_held_update_that_its_holder_finishes(
    engine: AsyncEngine, telegram_bot: Bot
) -> None:
    update = message_update("finished elsewhere")
    other = None

    async def sleep(seconds: float) -> None:  # meanwhile the holder finishes
        assert isinstance(held, Claimed) and other is not None
        await other.finish(held)

    bench = _bench(engine, telegram_bot, wait_when_busy=True, sleep=sleep)
    other = bench.other_process()
    held = await other.claim(update["update_id"])

    assert await bench.feed(update) is UNHANDLED
    assert bench.handled == []


async def test_a_handler_that_raised_is_not_run_again(webhook: Bench) -> None:
    async def fail(_: str) -> None:
        raise RuntimeError("a bug")

    webhook.behave(fail)
    update = message_update("poison")
    with pytest.raises(RuntimeError):
        await webhook.feed(update)
    assert await webhook.feed(update) is UNHANDLED
    assert webhook.handled == ["poison"]


async def test_an_update_cut_off_mid_way_is_handled_by_a_later_delivery(webhook: Bench) -> None:
    """Cancelled (the process stopping): its claim is left to run out, not marked handled."""
    update = message_update("cut off")
    first = await webhook.feed_and_hold(update)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    busy = await webhook.other_process().claim(update["update_id"])
    assert isinstance(busy, Busy)  # the lease still covers it
    await webhook.age_lease(update["update_id"], LEASE_S + 1)
    webhook.behave(None)
    await webhook.feed(update)
    assert webhook.handled == ["cut off", "cut off"]


async def test_an_outer_retry_of_the_update_goes_on_under_its_claim(
    engine: AsyncEngine, telegram_bot: Bot
) -> None:
    """A middleware outside (the outage hold) runs the update again after a failure: the
    second run is not refused as a duplicate of the first."""

    async def retry_once(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        try:
            return await handler(event, data)
        except ConnectionError:
            return await handler(event, data)

    bench = _bench(engine, telegram_bot, wait_when_busy=False, outer=retry_once)

    async def fail_first(_: str) -> None:
        if len(bench.handled) == 1:
            raise ConnectionError("database restarting")

    bench.behave(fail_first)
    update = message_update("held")
    await bench.feed(update)
    assert bench.handled == ["held", "held"]
    assert await bench.feed(update) is UNHANDLED


async def test_the_claim_is_renewed_while_a_long_update_is_handled(
    engine: AsyncEngine, telegram_bot: Bot
) -> None:
    lease_s = 0.6
    bench = _bench(engine, telegram_bot, wait_when_busy=False, lease_s=lease_s)
    renewed = asyncio.Event()
    renewals = 0
    renew = bench.claims.renew

    async def counting(claim: Claimed) -> bool:
        nonlocal renewals
        renewals += 1
        if renewals == 4:  # more than a whole lease since the claim
            renewed.set()
        return await renew(claim)

    bench.claims.renew = counting  # type: ignore[method-assign]
    bench.behave(lambda _: renewed.wait())
    update = message_update("long")
    await asyncio.wait_for(bench.feed(update), 30)

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT lease_until - claimed_at, handled_at FROM updates WHERE update_id = :i"
                ),
                {"i": update["update_id"]},
            )
        ).one()
    assert row[0] > lease_s  # moved on past the first lease
    assert row[1] is not None


@pytest.fixture
async def old_claim(engine: AsyncEngine) -> AsyncIterator[int]:
    """A claim handled more than a day ago."""
    claims = UpdateClaims(engine, owner="yesterday-1", lease_s=LEASE_S)
    update_id = message_update()["update_id"]
    claimed = await claims.claim(update_id)
    assert isinstance(claimed, Claimed)
    await claims.finish(claimed)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE updates SET claimed_at = claimed_at - 90000 WHERE update_id = :i"),
            {"i": update_id},
        )
    yield update_id


async def test_day_old_claims_are_pruned_as_updates_are_handled(
    engine: AsyncEngine, telegram_bot: Bot, old_claim: int
) -> None:
    bench = _bench(engine, telegram_bot, wait_when_busy=False)
    await bench.feed(message_update())

    async with engine.connect() as connection:
        ids = (await connection.execute(text("SELECT update_id FROM updates"))).scalars().all()
    assert old_claim not in ids
    assert len(ids) == 1


async def test_the_claim_records_the_visit_that_the_session_middleware_hands_on(
    engine: AsyncEngine, telegram_bot: Bot
) -> None:
    """With the visitor, one statement claims the update and records its sender; the
    handler gets their rows as `DatabaseMiddleware` gives them, and a second delivery of
    the update neither runs the handler nor records anything again."""
    claims = UpdateClaims(engine, owner="this-host-1", lease_s=LEASE_S)
    dispatcher = Dispatcher()
    dispatcher.update.outer_middleware(
        UpdateClaimMiddleware(claims, wait_when_busy=False, visitor=visitor_of)
    )
    dispatcher.message.outer_middleware(DatabaseMiddleware(create_session_factory(engine)))
    seen: list[tuple[Any, ...]] = []
    recorded: list[Any] = []
    record = Visits.record

    async def counting(self: Visits, *args: Any) -> Any:
        recorded.append(args)
        return await record(self, *args)

    @dispatcher.message()
    async def handle(message: Message, visit: Visit, user_row_id: Any, chat_row_id: Any) -> None:
        seen.append((visit, user_row_id, chat_row_id))

    update = message_update("with its visit")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Visits, "record", counting)
        await dispatcher.feed_raw_update(telegram_bot, update)
        assert await dispatcher.feed_raw_update(telegram_bot, update) is UNHANDLED
    assert recorded == []  # the claim's statement recorded it: no round trip of its own
    assert len(seen) == 1
    visit, user_row_id, chat_row_id = seen[0]
    assert (visit.user_row_id, visit.chat_row_id) == (user_row_id, chat_row_id)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(User.id, User.first_name, Chat.id).join(Chat, Chat.user_id == User.id)
            )
        ).all()
    assert [tuple(row) for row in rows] == [(user_row_id, "Ann", chat_row_id)]
