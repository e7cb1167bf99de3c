"""Blocking yt-dlp work in a thread of its own, watched from the event loop.

The loop stays free while the work runs; every tick the transfer is judged
(`transfer.TransferWatch`). A stall is reported once (`on_stall`, which should make the
work end); a cancel of the awaiting task is passed on (`on_cancel`) and then waited out: the
thread, and any ffmpeg it started, is gone before the cancellation goes on, so the caller
may delete its files.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from mediabot.downloaders.transfer import TransferWatch

T = TypeVar("T")


async def run_watched(
    work: Callable[[], T],
    *,
    watch: TransferWatch,
    received_bytes: Callable[[], int],
    on_stall: Callable[[str], None],
    on_cancel: Callable[[], None],
) -> T:
    """`work()`'s result, or its exception as it was raised in the thread.

    `received_bytes()` is the transfer's running total the watch judges.
    """
    loop = asyncio.get_running_loop()
    future: Future[T] = Future()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to the awaiting coroutine
            future.set_exception(exc)

    thread = threading.Thread(target=target, name="yt-dlp", daemon=True)
    thread.start()
    waiter = asyncio.wrap_future(future, loop=loop)
    tick = min(1.0, max(watch.stall_timeout_s / 5, 0.05))
    stalled = False
    try:
        while True:
            done, _ = await asyncio.wait({waiter}, timeout=tick)
            if done:
                return waiter.result()
            reason = watch.check(time.monotonic(), received_bytes())
            if reason is not None and not stalled:
                stalled = True
                on_stall(reason)
    except asyncio.CancelledError:
        on_cancel()
        await _wait_ignoring_cancellation(waiter)
        raise


async def _wait_ignoring_cancellation(waiter: asyncio.Future[Any]) -> None:
    # The thread must be gone before the caller deletes its files; a second cancel of the
    # awaiting task does not shorten that wait.
    while not waiter.done():
        try:
            await asyncio.wait({waiter})
        except asyncio.CancelledError:
            continue
    if not waiter.cancelled():
        waiter.exception()
