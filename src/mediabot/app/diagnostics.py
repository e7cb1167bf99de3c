"""`kill -USR1 <pid>`: the process logs what each of its tasks and threads is waiting on.

For an operator facing a process that is alive but answers nobody: one log record with the
stack of every asyncio task and every thread, without stopping or slowing the process.
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal
import sys
import threading
import traceback

logger = logging.getLogger(__name__)


def install_dump_on_signal(signum: int = signal.SIGUSR1) -> None:
    """Log the stacks of all tasks and threads whenever the process receives `signum`."""
    asyncio.get_running_loop().add_signal_handler(signum, _dump)


def _dump() -> None:
    out = io.StringIO()
    tasks = asyncio.all_tasks()
    out.write(f"{len(tasks)} task(s):\n")
    for task in sorted(tasks, key=lambda t: t.get_name()):
        out.write(f"--- task {task.get_name()} ({task.get_coro()!r})\n")
        task.print_stack(limit=40, file=out)
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    frames = sys._current_frames()
    out.write(f"{len(frames)} thread(s):\n")
    for ident, frame in frames.items():
        out.write(f"--- thread {names.get(ident, ident)}\n")
        out.write("".join(traceback.format_stack(frame, limit=40)))
    logger.warning("what this process is doing (SIGUSR1):\n%s", out.getvalue())
