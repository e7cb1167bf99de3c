"""Retry delays: doubling from the base, capped; attempts counted from one. Holding a step
through a passing outage: only passing failures, bounded by a deadline."""

from __future__ import annotations

import pytest

from mediabot.domain.retry import Backoff, hold_through
from tests.support.clock import FakeClock


def test_delays_double_from_the_base() -> None:
    policy = Backoff(10.0, 1000.0)
    assert [policy.delay_s(n) for n in (1, 2, 3, 4)] == [10.0, 20.0, 40.0, 80.0]


def test_delays_are_capped_even_for_absurd_attempt_counts() -> None:
    assert Backoff(10.0, 60.0).delay_s(5) == 60.0
    assert Backoff(10.0, 60.0).delay_s(10_000) == 60.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        Backoff(10.0, 60.0).delay_s(0)


def test_a_limited_policy_gives_up_after_its_last_attempt() -> None:
    policy = Backoff(0.0, 0.0, max_attempts=3)
    assert [policy.gives_up_after(n) for n in (1, 2, 3, 4)] == [False, False, True, True]
    assert not Backoff(1.0, 2.0).gives_up_after(10_000)


@pytest.mark.parametrize(
    ("base", "cap", "attempts"), [(-1.0, 1.0, None), (1.0, -1.0, None), (1.0, 1.0, 0)]
)
def test_nonsense_policies_are_refused(base: float, cap: float, attempts: int | None) -> None:
    with pytest.raises(ValueError):
        Backoff(base, cap, attempts)


class _AwayError(Exception):
    """A service that is briefly away (what `passing` recognises here)."""


def _passing(exc: BaseException) -> bool:
    return isinstance(exc, _AwayError)


class _Steps:
    """A step that fails with `failures` in order, then answers "done"; counts its tries."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.tries = 0

    async def __call__(self) -> str:
        self.tries += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


async def test_a_step_is_held_through_passing_failures_with_growing_waits() -> None:
    clock = FakeClock()
    step = _Steps(_AwayError(), _AwayError(), _AwayError(), _AwayError())
    seen: list[int] = []

    async def on_hold(exc: BaseException, failures: int) -> None:
        seen.append(failures)

    answer = await hold_through(
        step, _passing, Backoff(0.5, 2.0), on_hold=on_hold, clock=clock, sleep=clock.sleep
    )
    assert answer == "done" and step.tries == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 2.0]
    assert seen == [1, 2, 3, 4]


async def test_any_other_failure_is_raised_at_once() -> None:
    clock = FakeClock()
    step = _Steps(_AwayError(), ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        await hold_through(step, _passing, Backoff(0.5, 2.0), clock=clock, sleep=clock.sleep)
    assert step.tries == 2 and clock.sleeps == [0.5]


async def test_a_hold_gives_up_at_its_deadline_with_the_last_failure() -> None:
    clock = FakeClock()
    step = _Steps(*[_AwayError(f"away {n}") for n in range(100)])
    with pytest.raises(_AwayError):
        await hold_through(
            step, _passing, Backoff(1.0, 4.0), give_up_at=10.0, clock=clock, sleep=clock.sleep
        )
    # Waits 1, 2, 4, then the 3 s left before the deadline; one last try there.
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0] and step.tries == 5 and clock.now == 10.0


async def test_a_hold_stops_after_the_attempts_its_backoff_allows() -> None:
    clock = FakeClock()
    step = _Steps(*[_AwayError() for _ in range(10)])
    with pytest.raises(_AwayError):
        await hold_through(
            step, _passing, Backoff(1.0, 1.0, max_attempts=3), clock=clock, sleep=clock.sleep
        )
    assert step.tries == 3
