"""Running ffmpeg and ffprobe as subprocesses, off the event loop and cancellable.

A tool reads its inputs itself (`run_tool`: paths or URLs on its command line), or is fed
files through pipes (`run_fed`: each input the concatenation of some files, written to it
in order by a thread, so files can be deleted as soon as the tool has them).
"""

from __future__ import annotations

import asyncio
import functools
import os
import shlex
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from pathlib import Path
from subprocess import DEVNULL, PIPE

FFMPEG = "ffmpeg"
FFPROBE = "ffprobe"

_STDERR_TAIL = 600
_PIPE_BYTES = 256 * 1024
_PROXY_VARIABLES = frozenset(
    {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    | {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
)


def tool_environment(proxy: str | None = None) -> dict[str, str]:
    """The environment for ffmpeg or ffprobe: the operator's proxy variables removed.

    ffmpeg's http protocol honours `no_proxy`, so a `no_proxy` inherited from the
    environment could send it straight past the guard proxy. With `proxy`, every remote
    input goes through it (`http_proxy` covers https too: ffmpeg tunnels TLS with CONNECT).
    """
    env = {key: value for key, value in os.environ.items() if key not in _PROXY_VARIABLES}
    if proxy is not None:
        env["http_proxy"] = proxy
    return env


@functools.cache
def guarded_tools_dir() -> Path | None:
    """A folder holding `ffmpeg` and `ffprobe` wrappers that drop `no_proxy`, or None.

    yt-dlp starts ffmpeg with its own environment (a copy of ours, `http_proxy` set to its
    `proxy` parameter); its public `ffmpeg_location` parameter pointed here makes that
    ffmpeg unable to bypass the proxy through `no_proxy`, whatever the environment holds.
    """
    found = {name: shutil.which(name) for name in (FFMPEG, FFPROBE)}
    if not all(found.values()):
        return None
    folder = Path(tempfile.mkdtemp(prefix="mediabot-tools-"))
    for name, real in found.items():
        assert real is not None
        wrapper = folder / name
        wrapper.write_text(f'#!/bin/sh\nunset no_proxy NO_PROXY\nexec {shlex.quote(real)} "$@"\n')
        wrapper.chmod(0o755)
    return folder


class MediaToolError(Exception):
    """ffmpeg or ffprobe failed; the message carries the end of its error output."""

    def __init__(self, tool: str, returncode: int | None, stderr: str) -> None:
        self.tool = tool
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{tool} exited with {returncode}: {stderr[-_STDERR_TAIL:].strip()}")


async def run_tool(args: Sequence[str], *, proxy: str | None = None) -> bytes:
    """Run one ffmpeg/ffprobe command and return its standard output.

    The process is killed if the calling task is cancelled, so an abandoned job never
    leaves ffmpeg running. A non-zero exit raises `MediaToolError`. Remote inputs are read
    through `proxy` (the guard proxy) when given; the environment's proxy settings are
    never used.
    """
    env: Mapping[str, str] = tool_environment(proxy)
    try:
        process = await asyncio.create_subprocess_exec(
            *args, stdin=DEVNULL, stdout=PIPE, stderr=PIPE, env=env
        )
    except FileNotFoundError as exc:
        raise MediaToolError(args[0], None, f"{args[0]} is not installed") from exc
    return await _finish(process, args)


async def run_fed(
    command: Callable[[Sequence[str]], list[str]],
    feeds: Sequence[Sequence[Path]],
    *,
    consumed: Collection[Path] = (),
    on_consumed: Callable[[int], None] | None = None,
) -> bytes:
    """Run ffmpeg or ffprobe with each feed's files written, in order, into a pipe it reads
    as an input (`command` gets the inputs' names, `pipe:N`); returns its standard output.

    A file in `consumed` is deleted once written, `on_consumed` (called from a feeding
    thread) first told its size. Killed when the calling task is cancelled, like
    `run_tool`; a non-zero exit raises `MediaToolError`.
    """
    pipes = [os.pipe() for _ in feeds]
    readers = [reader for reader, _ in pipes]
    args = command([f"pipe:{reader}" for reader in readers])
    try:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=DEVNULL,
            stdout=PIPE,
            stderr=PIPE,
            pass_fds=readers,
            env=tool_environment(),
        )
    except BaseException:
        for _, writer in pipes:
            os.close(writer)
        raise
    finally:
        for reader in readers:
            os.close(reader)
    writers = [
        asyncio.to_thread(_feed, writer, files, consumed, on_consumed)
        for (_, writer), files in zip(pipes, feeds, strict=True)
    ]
    return await _finish(process, args, *writers)


async def _finish(
    process: asyncio.subprocess.Process, args: Sequence[str], *feeding: Awaitable[None]
) -> bytes:
    """The standard output of `process` once it ends (and `feeding` is done); killed if
    anything fails or the caller is cancelled meanwhile."""
    communicating = asyncio.ensure_future(process.communicate())
    try:
        await asyncio.gather(communicating, *feeding)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    stdout, stderr = communicating.result()
    if process.returncode != 0:
        raise MediaToolError(args[0], process.returncode, stderr.decode(errors="replace"))
    return stdout


def _feed(
    writer: int,
    files: Sequence[Path],
    consumed: Collection[Path],
    on_consumed: Callable[[int], None] | None,
) -> None:
    """Write `files` into the pipe `writer` (blocking; run in a thread), then close it.

    The reader may stop early (the tool has what it needs, or failed): the rest is dropped.
    """
    try:
        for path in files:
            with path.open("rb") as source:
                while chunk := source.read(_PIPE_BYTES):
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(writer, view) :]
            if path in consumed:
                if on_consumed is not None:
                    on_consumed(path.stat().st_size)
                path.unlink(missing_ok=True)
    except BrokenPipeError:
        pass
    finally:
        os.close(writer)


def discard(path: Path | None) -> None:
    """Delete a file we made, if it is still there; a local unlink is quick enough to do
    on the event loop."""
    if path is not None:
        path.unlink(missing_ok=True)
