"""Retry delays: doubling from the base, capped."""

from __future__ import annotations

import pytest

from mediabot.queue.backoff import retry_delay_s


def test_delays_double_from_the_base() -> None:
    assert [retry_delay_s(n, 10.0, 1000.0) for n in (1, 2, 3, 4)] == [10.0, 20.0, 40.0, 80.0]


def test_delays_are_capped_even_for_absurd_attempt_counts() -> None:
    assert retry_delay_s(5, 10.0, 60.0) == 60.0
    assert retry_delay_s(10_000, 10.0, 60.0) == 60.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        retry_delay_s(0, 10.0, 60.0)
