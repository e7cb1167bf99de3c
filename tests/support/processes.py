"""Running mediabot's own processes (`run`, `bot`, `worker`) as subprocesses in tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.fake_telegram import FakeTelegram
from tests.support.forkserver import ForkedProcess, fork_server


def mediabot_env(telegram: FakeTelegram, data_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a mediabot process wired to the fake Bot API and loopback media."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "AMQP_URL", "BOT_TOKEN", "TELEGRAM_UPLOAD_LIMIT_MB"}
    }
    env.update(
        BOT_TOKEN=telegram.token,
        TELEGRAM_API_URL=telegram.base_url,
        DATA_DIR=str(data_dir),
        ALLOW_PRIVATE_URLS="true",
        LOG_LEVEL="DEBUG",
        SHUTDOWN_GRACE_S="5",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


_started: list[MediabotProcess] = []
_DIE_WITH_THE_TESTS = (
    "import ctypes, os, signal, sys; "
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL); "  # PR_SET_PDEATHSIG, kept across exec
    "os.execv(sys.executable, [sys.executable, '-m', 'mediabot', *sys.argv[1:]])"
)
"""A real interpreter, for an environment the fork server cannot serve: the child asks for
SIGKILL when the test process goes, however it goes, then becomes `python -m mediabot` (same
pid): no bot of an ended test run polls on and takes a later run's updates. Done in the
child's own Python, not in `preexec_fn`, which is unsafe with threads. Forked processes die
the same way with the fork server's test process, the main one under xdist (see
`tests.support.forkserver`)."""


def kill_leftovers() -> list[str]:
    """Kill every process started here that is still running; their commands, for the report.

    Fixtures stop their processes, but not when their set-up failed half-way (a process that
    did not log its start in time): this sweep keeps one module's failure from turning into
    another module's, through a bot that still polls the shared fake Bot API."""
    killed = [process.command for process in _started if process.running()]
    for process in _started:
        if process.running():
            process.kill()
    _started.clear()
    return killed


class MediabotProcess:
    """One `python -m mediabot <command>` with its log in a file, forked from the fork server
    (`tests.support.forkserver`) where the environment allows it."""

    def __init__(self, command: str, env: dict[str, str], log_path: Path) -> None:
        self.command = command
        self._env = env
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | ForkedProcess | None = None
        self._terminated = False

    def start(self) -> MediabotProcess:
        with self.log_path.open("ab") as log:
            self._process = fork_server.spawn(
                [self.command], self._env, stdout=log.fileno(), stderr=log.fileno()
            ) or subprocess.Popen(
                [sys.executable, "-c", _DIE_WITH_THE_TESTS, self.command],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _started.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait_for_log(self, text: str, timeout: float = 90, *, count: int = 1) -> None:
        """Wait until the log shows `text` (`count` times). The default bound is wide: on a
        loaded 2-core machine, three processes starting at once took over 30 s to start."""
        deadline = time.monotonic() + timeout
        while self.log.count(text) < count:
            if not self.running():
                raise AssertionError(f"mediabot {self.command} exited:\n{self.log[-4000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged in {timeout}s:\n{self.log[-4000:]}")
            time.sleep(0.05)

    def wait(self, timeout: float = 60) -> int:
        """Wait for the process to end by itself; returns the exit code."""
        assert self._process is not None
        return self._process.wait(timeout)

    def terminate(self) -> None:
        """SIGTERM, once, without waiting: `stop` waits. Processes told together shut down
        together, in the time of the slowest instead of the sum."""
        assert self._process is not None
        if not self._terminated and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            self._terminated = True

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (unless `terminate` sent it), then wait; returns the exit code."""
        assert self._process is not None
        self.terminate()
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
            raise AssertionError(
                f"mediabot {self.command} ignored SIGTERM:\n{self.log[-4000:]}"
            ) from None

    def kill(self) -> None:
        """SIGKILL: the process dies where it stands."""
        assert self._process is not None
        self._process.kill()
        self._process.wait()


@contextmanager
def mediabot_run(
    telegram: FakeTelegram, data_dir: Path, **overrides: str
) -> Iterator[MediabotProcess]:
    """`mediabot run` on `data_dir` (its log there, `mediabot.log`), once it logged its start;
    stopped at the end, when it must exit 0."""
    env = mediabot_env(telegram, data_dir, **overrides)
    process = MediabotProcess("run", env, data_dir / "mediabot.log").start()
    process.wait_for_log("mediabot started")
    yield process
    assert process.stop() == 0, process.log[-3000:]


def stop_all(processes: list[MediabotProcess]) -> None:
    """Stop the running ones together; each must exit 0."""
    running = [process for process in processes if process.running()]
    for process in running:
        process.terminate()
    for process in running:
        assert process.stop() == 0, process.log[-3000:]
