"""The pacer on a fake clock: global and per-chat rates, bursts, droppable traffic."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
import time
from collections.abc import Awaitable, Callable, Coroutine

import pytest

from mediabot.telegram import budget, pacing
from mediabot.telegram.pacing import FLOOD_SPREAD_WINDOW_S, Pacer, Rate
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _pacer(clock: FakeClock, **rates: Rate) -> Pacer:
    return Pacer(clock=clock, sleep=clock.sleep, **rates)


async def test_one_chat_gets_its_burst_then_one_message_a_second(clock: FakeClock) -> None:
    pacer = _pacer(clock, overall=Rate(30.0, burst=30), per_chat=Rate(1.0, burst=3))
    times = []
    for _ in range(6):
        await pacer.acquire(42)
        times.append(clock.now)
    assert times == pytest.approx([0.0, 0.0, 0.0, 1.0, 2.0, 3.0])


async def test_the_global_rate_holds_across_chats(clock: FakeClock) -> None:
    pacer = _pacer(clock, overall=Rate(30.0, burst=30), per_chat=Rate(1.0, burst=1))
    for chat in range(60):
        await pacer.acquire(chat)
    # 30 go at once, the next 30 at 1/30 s apart
    assert clock.now == pytest.approx(30 / 30.0, abs=1e-6)


async def test_groups_get_the_slower_group_rate(clock: FakeClock) -> None:
    pacer = _pacer(clock, per_group=Rate(20 / 60, burst=1))
    await pacer.acquire(-100123)
    await pacer.acquire(-100123)
    assert clock.now == pytest.approx(3.0)


async def test_a_dropped_edit_takes_no_slot_from_sends(clock: FakeClock) -> None:
    pacer = _pacer(clock, per_chat=Rate(1.0, burst=1))
    await pacer.acquire(7)
    for _ in range(5):
        assert not await pacer.has_room(7)
    await pacer.acquire(7)
    assert clock.now == pytest.approx(1.0)


async def test_an_album_counts_as_its_items(clock: FakeClock) -> None:
    pacer = _pacer(clock, per_chat=Rate(1.0, burst=1))
    await pacer.acquire(7, weight=5)
    await pacer.acquire(7)
    assert clock.now == pytest.approx(5.0)


async def test_concurrent_senders_get_distinct_slots() -> None:
    # the clock stands still: every waiter must have reserved its own later slot
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    # (slots within the hold threshold, `budget.HOLD_S`: further ones would be held)
    pacer = Pacer(clock=lambda: 0.0, sleep=record, per_chat=Rate(4.0, burst=1))
    order: list[int] = []

    async def send(number: int) -> None:
        await pacer.acquire(7)
        order.append(number)

    await asyncio.gather(*(send(number) for number in range(4)))
    assert sorted(waits) == pytest.approx([0.25, 0.5, 0.75])
    assert sorted(order) == [0, 1, 2, 3]


async def test_has_room_reserves_nothing(clock: FakeClock) -> None:
    pacer = _pacer(clock, per_chat=Rate(1.0, burst=1))
    assert await pacer.has_room(7) and await pacer.has_room(7)
    await pacer.acquire(7)
    assert not await pacer.has_room(7)
    clock.now += 1.0
    assert await pacer.has_room(7)


async def test_penalize_holds_the_chat_and_the_rest_back(clock: FakeClock) -> None:
    """429s in several chats at once: the bot's own limit, so everyone waits."""
    pacer = _pacer(clock, overall=Rate(30.0, burst=30), per_chat=Rate(1.0, burst=3))
    assert not await pacer.penalize(9, 4.0)
    assert not await pacer.penalize(10, 4.0)
    assert await pacer.penalize(7, 4.0)
    await pacer.acquire(8)
    assert clock.now == pytest.approx(4.0, abs=0.05)
    await pacer.acquire(7)
    assert clock.now == pytest.approx(4.0, abs=0.05)


async def test_one_chats_flood_wait_holds_only_that_chat(clock: FakeClock) -> None:
    pacer = _pacer(clock, overall=Rate(30.0, burst=30), per_chat=Rate(1.0, burst=3))
    assert not await pacer.penalize(7, 160.0)
    await pacer.acquire(8)
    assert clock.now == 0.0
    assert not await pacer.has_room(7)
    await pacer.acquire(7)
    assert clock.now == pytest.approx(160.0, abs=0.05)


async def test_a_groups_flood_wait_holds_only_that_group(clock: FakeClock) -> None:
    pacer = _pacer(clock, overall=Rate(30.0, burst=30))
    await pacer.penalize(-100123, 30.0)
    assert await pacer.has_room(-100999) and await pacer.has_room(5)
    assert not await pacer.has_room(-100123)


async def test_flood_waits_spread_over_time_hold_only_their_chats(clock: FakeClock) -> None:
    pacer = _pacer(clock, overall=Rate(30.0, burst=30))
    assert not await pacer.penalize(1, 2.0)
    clock.now += FLOOD_SPREAD_WINDOW_S + 1
    assert not await pacer.penalize(2, 2.0)
    assert not await pacer.penalize(2, 2.0)  # the same chat again is still one chat
    assert await pacer.has_room(3)


async def test_a_flood_wait_without_a_chat_holds_everyone(clock: FakeClock) -> None:
    pacer = _pacer(clock)
    assert await pacer.penalize(None, 5.0)
    assert not await pacer.has_room(3)


async def test_a_message_queued_behind_a_flood_wait_does_not_hold_other_chats() -> None:
    waits: list[float] = []
    never = asyncio.Event()

    async def wait(seconds: float) -> None:  # the held message waits for as long as we like
        waits.append(seconds)
        await never.wait()

    pacer = Pacer(clock=lambda: 0.0, sleep=wait, overall=Rate(30.0, burst=30))
    await pacer.penalize(7, 160.0)
    held = asyncio.create_task(pacer.acquire(7))
    for _ in range(5):
        await asyncio.sleep(0)
    assert waits == [pytest.approx(160.0, abs=5)]
    await pacer.acquire(8)  # no slot was reserved at +160 s in the bot-wide bucket
    assert len(waits) == 1
    held.cancel()
    await asyncio.gather(held, return_exceptions=True)


async def test_waiters_of_a_held_chat_still_take_the_chats_turns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every message held behind a chat's flood wait wakes when it ends; each must still
    find room in the chat's bucket, or they would all go out at once (a 429 again).
    On the real clock, with the hold threshold shortened."""
    monkeypatch.setattr(budget, "HOLD_S", 0.2)
    pacer = Pacer(overall=Rate(100.0, burst=10), per_chat=Rate(4.0, burst=1))
    await pacer.penalize(7, 0.5)
    sent: list[float] = []

    async def send() -> None:
        await pacer.acquire(7)
        sent.append(time.monotonic())

    await asyncio.gather(*(send() for _ in range(4)))
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert min(gaps) >= 0.25 - 0.03, gaps  # the chat's interval, less scheduling jitter


async def test_a_chat_stays_paced_when_the_bot_wide_bucket_delays_it() -> None:
    """A backlog in the bot-wide bucket must not squeeze a chat's messages together: its
    slot is reserved for when the message really goes. On the real clock: concurrent waits
    need one timeline."""
    pacer = Pacer(overall=Rate(50.0, burst=1), per_chat=Rate(5.0, burst=1))
    sent: list[float] = []

    async def send(chat_id: int) -> None:
        await pacer.acquire(chat_id)
        if chat_id == 7:
            sent.append(time.monotonic())

    backlog = [send(chat) for chat in range(100, 120)]  # 0.4 s of the bot's rate
    await asyncio.gather(*backlog, send(7), send(7), send(7))
    gaps = [later - earlier for earlier, later in itertools.pairwise(sent)]
    assert min(gaps) >= 0.2 - 0.03, gaps  # the chat's interval, less scheduling jitter


async def test_slots_woken_late_together_are_held_to_the_rate_of_a_second() -> None:
    """A blocked event loop wakes every due slot at once; what really goes out in any one
    second stays within the rate and its burst (here 10 + 1)."""
    waits: list[float] = []

    async def late(seconds: float) -> None:  # the loop was busy: no time passes meanwhile
        waits.append(seconds)

    pacer = Pacer(clock=lambda: 0.0, sleep=late, overall=Rate(10.0, burst=1))
    for chat in range(14):
        await pacer.acquire(1000 + chat)
    # 13 waits for the slots the rate spaces (all but the first), and one more for each
    # message past the 11 a second may carry.
    assert len(waits) == 13 + (14 - 11)
    assert waits.count(1.0) == 14 - 11  # the window's waits: until the oldest is a second old


async def test_a_slot_passed_while_the_loop_was_busy_is_let_go_for_another() -> None:
    """A sender woken well after its slot does not send then, among the slots of the
    moment: it takes a new slot, after the ones reserved meanwhile."""
    clock = FakeClock()
    late = [0.4]  # the second sender wakes up 0.4 s after its slot

    async def sleep(seconds: float) -> None:
        clock.now += seconds + (late.pop(0) if late else 0.0)
        await asyncio.sleep(0)

    shared = budget.MemoryBudget(budget.Limits(overall=Rate(10.0, burst=1)), clock=clock)
    slow = Pacer(shared, clock=clock, sleep=sleep)
    await slow.acquire(1)  # slot at 0
    await slow.acquire(2)  # slot at 0.1, woken at 0.5: the slot at 0.5 is its
    assert clock.now == pytest.approx(0.5)
    await Pacer(shared, clock=clock, sleep=clock.sleep).acquire(3)
    assert clock.now == pytest.approx(0.6)  # the passed slot at 0.1 went unused


class _VirtualTime:
    """One virtual clock for several pacers (processes) whose sleeps overshoot: each sleep
    ends at its deadline plus the sleeper's lateness, the earliest first."""

    def __init__(self) -> None:
        self.now = 0.0
        self._wakeups: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    def sleep_late(self, lateness: Callable[[], float]) -> Callable[[float], Awaitable[None]]:
        async def sleep(seconds: float) -> None:
            woken = asyncio.get_running_loop().create_future()
            deadline = self.now + max(0.0, seconds) + lateness()
            heapq.heappush(self._wakeups, (deadline, next(self._order), woken))
            await woken

        return sleep

    async def run(self, senders: list[Coroutine[None, None, None]]) -> None:
        tasks = [asyncio.ensure_future(sender) for sender in senders]
        while not all(task.done() for task in tasks):
            for _ in range(20):  # every sender that can go on reaches its next sleep
                await asyncio.sleep(0)
            if self._wakeups and not all(task.done() for task in tasks):
                deadline, _, woken = heapq.heappop(self._wakeups)
                self.now = max(self.now, deadline)
                woken.set_result(None)
        for task in tasks:
            task.result()


def _busiest_second(times: list[float]) -> int:
    ordered = sorted(times)
    first = 0
    busiest = 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


async def _late_processes(seed: int) -> list[float]:
    """Seven processes sharing the bot's budget, 60 messages each to chats of their own,
    all at once; three wake-ups in ten come 0.05-0.5 s late (a busy event loop)."""
    clock = _VirtualTime()
    draw = random.Random(seed)
    shared = budget.MemoryBudget(clock=clock)

    def lateness() -> float:
        return draw.uniform(0.05, 0.5) if draw.random() < 0.3 else draw.uniform(0.0, 0.01)

    sent: list[float] = []

    async def send(pacer: Pacer, chat_id: int) -> None:
        await pacer.acquire(chat_id)
        sent.append(clock.now)

    pacers = [Pacer(shared, clock=clock, sleep=clock.sleep_late(lateness)) for _ in range(7)]
    await clock.run(
        [
            send(pacer, 1000 * number + chat)
            for number, pacer in enumerate(pacers)
            for chat in range(60)
        ]
    )
    assert len(sent) == 7 * 60
    return sent


@pytest.mark.parametrize("seed", range(3))
async def test_processes_waking_late_stay_within_telegrams_second(seed: int) -> None:
    """The bot's rate (its burst included) leaves room for slots woken up to `LATE_S`
    late; later ones are let go. Telegram refuses a 31st message within a second."""
    assert _busiest_second(await _late_processes(seed)) <= 30


async def test_without_letting_late_slots_go_a_second_overflows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The case above, with late slots kept: what the rule prevents."""
    monkeypatch.setattr(pacing, "LATE_S", math.inf)
    busiest = max([_busiest_second(await _late_processes(seed)) for seed in range(3)])
    assert busiest > 30
