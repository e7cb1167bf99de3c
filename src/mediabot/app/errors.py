"""The error a process cannot start with: one line a person can act on, no traceback."""

from __future__ import annotations


class StartupError(Exception):
    """What stops a process before it serves anything; `cli` prints it as one line.

    The message says what is wrong and what to do. `exit_code` is the process's status.
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
