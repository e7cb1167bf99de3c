"""Running ffmpeg and ffprobe as subprocesses, off the event loop and cancellable."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from subprocess import DEVNULL, PIPE

logger = logging.getLogger(__name__)

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

_STDERR_TAIL = 600


class MediaToolError(Exception):
    """ffmpeg or ffprobe failed; the message carries the end of its error output."""

    def __init__(self, tool: str, returncode: int | None, stderr: str) -> None:
        self.tool = tool
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{tool} exited with {returncode}: {stderr[-_STDERR_TAIL:].strip()}")


async def run_tool(args: Sequence[str]) -> bytes:
    """Run one ffmpeg/ffprobe command and return its standard output.

    The process is killed if the calling task is cancelled, so an abandoned job never
    leaves ffmpeg running. A non-zero exit raises `MediaToolError`.
    """
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdin=DEVNULL, stdout=PIPE, stderr=PIPE
        )
    except FileNotFoundError as exc:
        raise MediaToolError(args[0], None, f"{args[0]} is not installed") from exc
    try:
        stdout, stderr = await process.communicate()
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        raise MediaToolError(args[0], process.returncode, stderr.decode(errors="replace"))
    return stdout
