"""What the code around a Telegram call may learn about, or bound, flood waits.

Both are scoped with context variables, so they follow a task (and the tasks it starts)
and never leak between concurrent updates or jobs that share one `Bot`:

- `flood_observer(callback)`: while inside, `RetryMiddleware` calls `callback(wait)`
  with a `FloodWait` right before it sleeps out a 429 of a request made in this context
  (e.g. a worker renews its lease and shows "waiting" on the status message).
- `answer_deadline(at)`: while inside, a 429 whose wait would end after `at` (wall-clock
  seconds, `time.time()`) is raised instead of waited out: an interactive answer is
  pointless once its update is too old.
- `flood_hand_back(seconds)`: while inside, a 429 asking to wait longer than `seconds` is
  raised instead of waited out: a worker's job hands its slot to other chats' jobs rather
  than sit out a long wait in it.

Outside both, waits are bounded only by the session's `max_flood_wait_s` (none by
default: wait as long as Telegram says).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FloodWait:
    """Telegram asked to wait `retry_after` seconds before repeating `method` to `chat_id`.

    `waited_s` is the flood wait this request already sat out before this one.
    """

    chat_id: int | None
    method: str
    retry_after: float
    waited_s: float


FloodObserver = Callable[[FloodWait], None]
"""Called on the event loop before the wait; must be quick (start a task for I/O)."""

_observers: ContextVar[tuple[FloodObserver, ...]] = ContextVar("flood_observers", default=())
_deadline: ContextVar[float | None] = ContextVar("flood_answer_deadline", default=None)
_hand_back: ContextVar[float | None] = ContextVar("flood_hand_back", default=None)


@contextlib.contextmanager
def flood_observer(callback: FloodObserver) -> Iterator[None]:
    """Tell `callback` about every flood wait of a request made inside this block."""
    token = _observers.set((*_observers.get(), callback))
    try:
        yield
    finally:
        _observers.reset(token)


@contextlib.contextmanager
def answer_deadline(at: float) -> Iterator[None]:
    """Give up flood waits of requests made inside this block that would end after `at`."""
    current = _deadline.get()
    token = _deadline.set(at if current is None else min(at, current))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextlib.contextmanager
def flood_hand_back(seconds: float) -> Iterator[None]:
    """Give up flood waits longer than `seconds` of requests made inside this block."""
    token = _hand_back.set(seconds)
    try:
        yield
    finally:
        _hand_back.reset(token)


def current_hand_back() -> float | None:
    """The longest flood wait sat out here, if bounded (see `flood_hand_back`)."""
    return _hand_back.get()


def current_deadline() -> float | None:
    """The wall-clock time after which flood waits are given up here, if any."""
    return _deadline.get()


def notify(wait: FloodWait) -> None:
    """Tell this context's observers about `wait`; an observer's failure is only logged."""
    for callback in _observers.get():
        try:
            callback(wait)
        except Exception:
            logger.exception("flood observer %r failed", callback)
