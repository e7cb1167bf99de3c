"""Database calls of a job that wait out an outage (a restart, a failover), then run again.

Each call waits for the database and then runs again from its start (`DATABASE_HOLD_S`), so
a job goes on through it: a part Telegram took while the database was away is recorded once
it is back, a lease renewal goes through late instead of counting as the lease lost.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from mediabot.db.outages import database_unavailable
from mediabot.domain.retry import Backoff, hold_through

logger = logging.getLogger(__name__)

DATABASE_HOLD_S = 600.0
"""How long one database call of a job waits for the database to come back; after that its
failure goes the usual way (the job comes back later, see `worker.pipeline`)."""
_HOLD_BACKOFF = Backoff(base_delay_s=0.25, max_delay_s=2.0)

_T = TypeVar("_T")
_P = ParamSpec("_P")


class _HeldStore(Protocol):
    @property
    def hold_s(self) -> float:
        """How long each call waits out a database outage."""
        ...


_Store = TypeVar("_Store", bound=_HeldStore)


def through_outages(
    call: Callable[Concatenate[_Store, _P], Coroutine[Any, Any, _T]],
) -> Callable[Concatenate[_Store, _P], Coroutine[Any, Any, _T]]:
    """The call, run again from its start while the database is away (see the module)."""

    @functools.wraps(call)
    async def held(store: _Store, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        waited = time.monotonic()
        held = False

        async def on_hold(exc: BaseException, failures: int) -> None:
            nonlocal held
            held = True
            if failures == 1:
                logger.warning("%s waits for the database: %s", call.__name__, _brief(exc))

        answer = await hold_through(
            lambda: call(store, *args, **kwargs),
            database_unavailable,
            _HOLD_BACKOFF,
            give_up_at=waited + store.hold_s,
            on_hold=on_hold,
        )
        if held:
            logger.info("%s went through after %.1f s", call.__name__, time.monotonic() - waited)
        return answer

    return held


def _brief(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}"
