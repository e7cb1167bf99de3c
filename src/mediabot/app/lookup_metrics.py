"""Lookups timed by outcome, in `mediabot_lookup_seconds`, wherever they run.

Whatever runs a link's lookup (the bot today, a worker's lookup job) wraps it in
`timed_lookup`; answers given without a lookup of their own are counted where they are
shared (`bot.lookups`, `mediabot_lookups_shared_total`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from mediabot import metrics
from mediabot.downloaders.errors import (
    DownloadError,
    PlaylistLinkError,
    SitePushBackError,
    StalledError,
)

_Answer = TypeVar("_Answer")


def lookup_outcome(exc: BaseException | None) -> str:
    """The `outcome` label of a lookup that ended with `exc` (None: it found media).

    found; playlist (the link is a playlist, listed next); refused (the site or the rules
    say no: private, removed, unsupported, too long); pushed_back (the site wants a login
    or suspects a bot: an operator acts); timeout (over `LOOKUP_TIMEOUT_S`); cancelled;
    failed (a fault of ours or an answer nobody expected).
    """
    if exc is None:
        return "found"
    if isinstance(exc, PlaylistLinkError):
        return "playlist"
    if isinstance(exc, SitePushBackError):
        return "pushed_back"
    if isinstance(exc, StalledError | TimeoutError):
        return "timeout"
    if isinstance(exc, DownloadError):
        return "refused"
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return "failed"


Lookup = Callable[[str], Awaitable[_Answer]]


def timed_lookup(lookup: Lookup[_Answer]) -> Lookup[_Answer]:
    """`lookup`, each call observed in `mediabot_lookup_seconds` under its outcome; its
    answer or exception goes on unchanged."""

    async def lookup_timed(url: str) -> _Answer:
        started = time.perf_counter()
        ended: BaseException | None = None
        try:
            return await lookup(url)
        except BaseException as exc:
            ended = exc
            raise
        finally:
            elapsed = time.perf_counter() - started
            metrics.LOOKUP_SECONDS.labels(outcome=lookup_outcome(ended)).observe(elapsed)

    return lookup_timed
