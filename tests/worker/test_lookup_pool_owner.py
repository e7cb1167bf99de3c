"""A lookup pool's processes end with the process that owns them, even when it is killed
and never closes the pool: no fork server nor child is left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mediabot.worker.lookup_pool import OWNER_CHECK_S

_OWNER = """
import asyncio, sys
from mediabot.downloaders.options import DownloadOptions
from mediabot.worker.lookup_pool import LookupPool

async def main() -> None:
    pool = LookupPool(DownloadOptions(), max_items=5, timeout_s=5.0, processes=2)
    await pool.warm()
    print(*pool._executor._processes, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])


def _ended(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    return state == b"Z"


def _wait_until_ended(pids: set[int], within_s: float) -> set[int]:
    """The pids still running after `within_s` (each looked at as it may end)."""
    deadline = time.monotonic() + within_s
    while (running := {pid for pid in pids if not _ended(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return running


def test_a_killed_owner_leaves_no_lookup_process_behind() -> None:
    owner = subprocess.Popen([sys.executable, "-c", _OWNER], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        children = {int(pid) for pid in owner.stdout.readline().split()}
        assert len(children) == 2, children
        servers = {_parent_of(child) for child in children}
        assert owner.pid not in servers  # the fork server is their parent, not the owner
        assert _wait_until_ended(children | servers, within_s=0.5) == children | servers
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        assert not _wait_until_ended(children | servers, within_s=OWNER_CHECK_S * 10)
    finally:
        owner.kill()
        owner.wait()
