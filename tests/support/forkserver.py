"""mediabot processes forked from one interpreter that has already imported mediabot.

Importing mediabot's process code (aiogram builds some 650 pydantic models on import) costs
5-6 s of CPU on a 2-core machine, and the suite starts some fifty `python -m mediabot`
processes: most of the CPU it would spend. The fork server imports it once per test run
(under pytest-xdist the main process starts it and every worker uses it: `share`) and forks
each mediabot process from there; the child gets the environment, the working
directory and the standard streams of its request and runs `python -m mediabot <args>` as the
interpreter would (`runpy` on `mediabot.__main__`, then the interpreter's own exit), so the
same code runs from `mediabot.__main__` on. What it does not cover is the interpreter start
and the imports themselves: tests of those (`tests/downloaders/test_startup.py`) start a
real interpreter.

A request whose environment changes what an interpreter reads when it starts (`PYTHON*`,
the locale, the time zone) cannot be served by a fork: `spawn` returns None for it, and the
caller starts a real interpreter.

The protocol: one SOCK_SEQPACKET connection per process. The request is a JSON message with
three file descriptors (stdin, stdout, stderr) attached; the answer is the child's pid with
a pidfd attached (signals reach the right process even after its pid is reused); when the
child ends, its exit code (negative: the signal that ended it) comes as a second message.
The server dies with the test process that started it (PR_SET_PDEATHSIG), and so does every
child with the server.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import json
import os
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_SHARED_ADDRESS = "MEDIABOT_TEST_FORK_SERVER"
"""The variable through which the processes a test process starts (xdist's workers) learn the
address of its fork server, and use it rather than start one each."""
_PRELOAD = (
    "mediabot.cli",
    "mediabot.app.processes",
    "mediabot.app.checks",
    "mediabot.app.migrate",
    "mediabot.app.tools",
    "mediabot.app.versions",
    "mediabot.app.logs",
    "yt_dlp",
)


def _startup_variables(env: dict[str, str]) -> dict[str, str]:
    """What an interpreter reads from its environment when it starts, not later."""
    return {
        key: value
        for key, value in env.items()
        if key.startswith(("PYTHON", "LC_")) or key in ("LANG", "LANGUAGE", "TZ")
    }


def _die_with_parent(parent: int) -> None:
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent went before the request was made
        os._exit(1)


# -- the server ------------------------------------------------------------------------------


def _serve(listener: socket.socket, parent: int) -> dict[str, object]:
    """Fork a child per request; returns only in a child, with its request."""
    for name in _PRELOAD:
        __import__(name)
    # What the imports made lives as long as any child: out of the collector's sight, each
    # child's collections (and its final one) skip it, and its pages stay shared.
    gc.freeze()
    me = os.getpid()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(wake_read, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    while True:
        for key, _ in selector.select():
            if key.fileobj is listener:
                connection, _ = listener.accept()
                message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
                if not message or len(fds) != 3:
                    connection.close()
                    for fd in fds:
                        os.close(fd)
                    continue
                pid = os.fork()
                if pid == 0:
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    selector.close()
                    for fd in (wake_read, wake_write):
                        os.close(fd)
                    listener.close()
                    for other in children.values():
                        other.close()
                    connection.close()
                    _die_with_parent(me)
                    for target, fd in enumerate(fds):
                        os.dup2(fd, target)
                        os.close(fd)
                    request: dict[str, object] = json.loads(message)
                    return request
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                with contextlib.suppress(OSError):
                    socket.send_fds(connection, [json.dumps({"pid": pid}).encode()], [pidfd])
                os.close(pidfd)
                children[pid] = connection
            else:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_read, 4096):
                        pass
                _reap(children)
        if os.getppid() != parent:
            os._exit(0)


def _reap(children: dict[int, socket.socket]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.send(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
            connection.close()


def _server_main(listener_fd: int, parent: int) -> None:
    _die_with_parent(parent)
    del sys.path[0]  # this file's folder: nothing of the tests may shadow a module
    listener = socket.socket(fileno=listener_fd)
    request = _serve(listener, parent)
    cwd = str(request["cwd"])
    os.chdir(cwd)
    sys.path.insert(0, cwd)  # as `python -m` puts it
    env = request["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update(env)
    args = request["args"]
    assert isinstance(args, list)
    sys.argv = ["mediabot", *args]
    # As `python -m mediabot`: SystemExit ends the interpreter the usual way (threads
    # joined, atexit handlers run, streams flushed).
    runpy.run_module("mediabot", run_name="__main__", alter_sys=True)


# -- the client ------------------------------------------------------------------------------


class ForkedProcess:
    """A process the fork server started: `subprocess.Popen`'s `pid`, `returncode`, `poll`,
    `wait`, `send_signal` and `kill`."""

    def __init__(self, pid: int, pidfd: int, connection: socket.socket) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._pidfd = pidfd
        self._connection = connection
        self._lock = threading.Lock()
        """One reader of the connection at a time (a `wait` in a thread, a `poll` here)."""
        self._pidfd_lock = threading.Lock()

    def _collect(self, timeout: float | None) -> int | None:
        if not self._lock.acquire(blocking=timeout != 0):
            return self.returncode  # another thread is waiting for it
        try:
            if self.returncode is not None:
                return self.returncode
            self._connection.settimeout(timeout)
            try:
                message = self._connection.recv(4096)
            except (TimeoutError, BlockingIOError):
                return None
            # An empty message: the server itself is gone, and the child with it.
            self.returncode = int(json.loads(message)["exit"]) if message else -signal.SIGKILL
            self._connection.close()
            with self._pidfd_lock:
                os.close(self._pidfd)
            return self.returncode
        finally:
            self._lock.release()

    def poll(self) -> int | None:
        return self._collect(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._collect(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(["mediabot"], timeout or 0)
        return code

    def send_signal(self, signum: int) -> None:
        with self._pidfd_lock, contextlib.suppress(ProcessLookupError):
            if self.returncode is None:
                signal.pidfd_send_signal(self._pidfd, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _ForkServer:
    """The fork server of this test process, started on the first request; or the one its
    parent shared (`share`), while that one answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._address: str | None = None
        self._server: subprocess.Popen[bytes] | None = None

    def share(self) -> None:
        """Start the server now, for the processes this one starts from now on (xdist's
        workers): each of them forks from it instead of starting and importing its own."""
        with self._lock:
            os.environ[_SHARED_ADDRESS] = self._start().removeprefix("\0")  # abstract

    def _start(self) -> str:
        if self._server is None and (shared := os.environ.get(_SHARED_ADDRESS)):
            return "\0" + shared
        if self._address is not None and self._server is not None and self._server.poll() is None:
            return self._address
        address = f"\0mediabot-forkserver-{os.getpid()}-{uuid.uuid4().hex}"
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(address)
        listener.listen(64)
        env = self._environment()
        self._server = subprocess.Popen(  # its own errors, if any, on the test's stderr
            [sys.executable, __file__, str(listener.fileno()), str(os.getpid())],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=[listener.fileno()],
        )
        listener.close()  # the server holds it now; connections queue until it listens
        atexit.register(self._stop)
        self._address = address
        return address

    @staticmethod
    def _environment() -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1"}

    def _stop(self) -> None:
        """End the server and collect it: its children's CPU time counts in this process's."""
        if self._server is not None and self._server.poll() is None:
            self._server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._server.wait(10)

    def spawn(
        self,
        args: list[str],
        env: dict[str, str],
        *,
        stdout: int,
        stderr: int,
        cwd: Path | None = None,
        stdin: int | None = None,
    ) -> ForkedProcess | None:
        """`python -m mediabot <args>` forked from the server; None when `env` needs a real
        interpreter (see the module's docstring)."""
        if _startup_variables(env) != _startup_variables(self._environment()):
            return None
        with self._lock:
            address = self._start()
        request = {"args": args, "env": env, "cwd": str(cwd or Path.cwd())}
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            connection.connect(address)
        except ConnectionRefusedError:
            if self._server is not None:
                raise
            # The shared server is gone (its test process ended): start one of this process.
            connection.close()
            with self._lock:
                os.environ.pop(_SHARED_ADDRESS, None)
                address = self._start()
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            connection.connect(address)
        # The first request waits for the server's imports: as long as a process start.
        connection.settimeout(180)
        with contextlib.ExitStack() as stack:
            if stdin is None:
                stdin = stack.enter_context(Path(os.devnull).open("rb")).fileno()
            socket.send_fds(connection, [json.dumps(request).encode()], [stdin, stdout, stderr])
        message, fds, _, _ = socket.recv_fds(connection, 4096, 1)
        if not message or not fds:
            raise RuntimeError("the mediabot fork server did not start the process")
        return ForkedProcess(int(json.loads(message)["pid"]), fds[0], connection)


fork_server = _ForkServer()


def run_mediabot(
    args: list[str], env: dict[str, str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([python, -m, mediabot, *args], capture_output=True, text=True)`,
    through the fork server where it can."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = fork_server.spawn(args, env, stdout=out.fileno(), stderr=err.fileno())
        if process is None:
            return subprocess.run(
                [sys.executable, "-m", "mediabot", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(
            ["mediabot", *args],
            code,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


if __name__ == "__main__":
    _server_main(int(sys.argv[1]), int(sys.argv[2]))
