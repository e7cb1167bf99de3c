"""Lookups in processes of their own, so that a process's lookups use every core.

A lookup is mostly yt-dlp's CPU (reading a page, a manifest): under one interpreter lock,
threads of one process share one core, so the lookups of a busy process queue behind each
other while the machine's other cores idle. `LookupPool` runs each lookup in one of
`processes` children of a `forkserver` context whose server has imported yt-dlp and the
downloaders once (`set_forkserver_preload`): each child starts warm, keeps one event loop,
and answers with the `Outcome` as JSON data (`domain.lookups`), which pickles whatever the
downloaders raised.

Each child has its own guard proxy (`net/proxy.py`, started on first use, with a secret per
session): every request a lookup makes still goes through a guard's checks. A lookup still
ends at its deadline (the downloaders' own, inside the child); cancelling the caller leaves
a running child to finish that lookup (its answer is dropped), and `close()` ends them all.
A child outlives no owner: one whose process is gone (killed, with no `close()`) exits
within `OWNER_CHECK_S`, and the fork server with its last child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from mediabot.domain.lookups import Outcome, decode_outcome, encode_outcome
from mediabot.downloaders.errors import DownloadError
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.playlists import get_playlist
from mediabot.downloaders.registry import get_resolutions
from mediabot.worker.lookup_find import Finder, finder

logger = logging.getLogger(__name__)

_WARM_UP_URL = "http://127.0.0.1:9/warm-up.mpd"
_WARM_UP_S = 2.0
OWNER_CHECK_S = 1.0
"""How often a child looks whether the process that owns the pool is still there."""
_PRELOAD = ["mediabot.downloaders.registry", "mediabot.downloaders.playlists", "yt_dlp"]

_child: tuple[asyncio.AbstractEventLoop, Finder] | None = None
"""In a child: its event loop and its finder (set by `_start_child`)."""


def _start_child(
    options: DownloadOptions,
    max_items: int,
    timeout_s: float,
    on_start: Callable[[], None] | None,
    owner_pid: int,
) -> None:
    """Build the child's finder over the real downloaders (imported by the fork server)."""
    global _child
    threading.Thread(target=_exit_without, args=(owner_pid,), daemon=True).start()
    if on_start is not None:
        on_start()
    # A video's lookup tells its length whatever the limit: the answer applies the limit,
    # to the whole or to the clip asked of it (`lookup_replies`); playlists keep theirs.
    find = finder(
        partial(get_resolutions, options=replace(options, max_duration_s=None)),
        partial(get_playlist, options=options, max_items=max_items),
        timeout_s,
    )
    loop = asyncio.new_event_loop()
    _child = (loop, find)
    # yt-dlp's first run in a process costs half a second (extractors, guard proxy, HTTP
    # handlers): spend it now on a lookup that fails at once on this machine's closed
    # port, rather than on the first user's link.
    warm_up = replace(options, allow_private_urls=True, lookup_timeout_s=_WARM_UP_S)
    with contextlib.suppress(DownloadError):
        loop.run_until_complete(get_resolutions(_WARM_UP_URL, warm_up))


def _exit_without(owner_pid: int) -> None:
    """End this child once the pool's owner is gone: a killed owner closes nothing, and
    the child's own copy of the call queue would keep it waiting for work forever."""
    while not _gone(owner_pid):
        time.sleep(OWNER_CHECK_S)
    os._exit(0)


def _gone(pid: int) -> bool:
    """Whether process `pid` has ended (a zombie, not yet reaped, has)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state == b"Z"


def _ready() -> bool:
    return _child is not None


def _find_in_child(url: str) -> dict[str, Any]:
    assert _child is not None, "the child was not started"
    loop, find = _child
    return encode_outcome(loop.run_until_complete(find(url)))


class LookupPool:
    """A `Finder` whose lookups run in `processes` child processes."""

    def __init__(
        self,
        options: DownloadOptions,
        *,
        max_items: int,
        timeout_s: float,
        processes: int,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        """`on_start`: called first in each child (picklable: the process's logging set-up,
        so that the children log where the process does)."""
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        self.processes = processes
        self._executor = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=context,
            initializer=_start_child,
            initargs=(options, max_items, timeout_s, on_start, os.getpid()),
        )

    async def __call__(self, url: str) -> Outcome:
        loop = asyncio.get_running_loop()
        return decode_outcome(await loop.run_in_executor(self._executor, _find_in_child, url))

    async def warm(self) -> None:
        """Start every child now (each warms yt-dlp up), so that the first lookups wait
        neither for a child to start nor for yt-dlp's first run."""
        loop = asyncio.get_running_loop()
        await asyncio.gather(
            *(loop.run_in_executor(self._executor, _ready) for _ in range(self.processes))
        )

    def close(self) -> None:
        """Stop the children: lookups waiting are dropped, running ones end with them."""
        children = list((getattr(self._executor, "_processes", None) or {}).values())
        self._executor.shutdown(wait=False, cancel_futures=True)
        for child in children:
            child.terminate()
