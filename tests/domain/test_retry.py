"""Retry delays: doubling from the base, capped; attempts counted from one."""

from __future__ import annotations

import pytest

from mediabot.domain.retry import Backoff


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
