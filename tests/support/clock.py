"""A fake clock for code that takes `clock` and `sleep` callables (pacers, deadlines)."""

from __future__ import annotations

import asyncio


class FakeClock:
    """Seconds that move only when the code under test sleeps (or a test sets `now`).

    `sleep` records each wait, moves the clock and yields once to the event loop, so other
    tasks run as they would around a real sleep.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
