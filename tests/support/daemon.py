"""A server program the tests run beside mediabot (Caddy, Prometheus): its output in a log
file, started until it serves, stopped with SIGTERM (SIGKILL after 10 s)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


class Daemon:
    """One program; `launch` returns once `serves()` says so, or fails with its log."""

    name = "daemon"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def launch(
        self,
        argv: list[str],
        serves: Callable[[], bool],
        *,
        cwd: Path,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env
            )
        deadline = time.monotonic() + timeout
        while not serves():
            if self._process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} did not serve in {timeout} s:\n{self.log[-3000:]}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
