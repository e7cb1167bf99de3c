"""How long a failed job waits before its next attempt."""

from __future__ import annotations


def retry_delay_s(failed_attempt: int, base_delay_s: float, max_delay_s: float) -> float:
    """The wait after attempt `failed_attempt` (1-based) failed: base, 2·base, 4·base, ...

    Capped at `max_delay_s`, so a generous attempt limit never schedules a retry for tomorrow.
    """
    if failed_attempt < 1:
        raise ValueError(f"attempts are counted from 1, got {failed_attempt}")
    # The exponent is bounded before the power so a huge attempt number cannot overflow.
    exponent = min(failed_attempt - 1, 62)
    return float(min(base_delay_s * 2**exponent, max_delay_s))
