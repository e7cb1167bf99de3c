"""Each update handled once, however many times and to whichever bot process Telegram
delivers it.

Before anything handles an update, its `update_id` is claimed in the database
(`db.updates`). A delivery of an update that is handled already is dropped; one that
another live claim holds is either waited for (long polling: the holder is a poller that
died a moment ago, or is finishing) or refused with `UpdateBusyError`, which the webhook
answers with 503 and a `Retry-After` at the end of that claim's lease (`bot.webhook`).

Given a `visitor` (who an update comes from, `bot.middlewares.visitor_of`), the claim
records the update's visit in the same round trip and hands it on as `visit`, which
`DatabaseMiddleware` then takes instead of recording it again.

The claim carries a lease, renewed every third of it while the update is handled, so a
process that dies after claiming an update (or while handling it) does not lose it: once
the lease runs out, Telegram's next delivery of the update (it got no 2xx for it) takes the
claim over and handles it. An update whose handling raised is marked handled all the same:
the failure is logged with its traceback, and running the same handler again would only
repeat it. An update cut off mid-way (cancelled at shutdown, the process killed) is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

from mediabot.db.updates import Busy, Claimed, Handled, UpdateClaims
from mediabot.db.visits import Visitor

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
VisitorOf = Callable[[Update, dict[str, Any]], Visitor | None]

PRUNE_EVERY_S = 3600.0
"""How often a process deletes the claims older than a day."""
_BUSY_MARGIN_S = 0.2
"""Added to a busy claim's remaining lease before asking again, so the lease has run out."""
_CLAIM = "update_claim"
"""The update's claim in the handler data: a middleware outside this one that runs the
update again (through an outage) finds it and goes on under the same claim."""


class UpdateBusyError(Exception):
    """Another process (or another delivery to this one) holds a live claim on the update."""

    def __init__(self, update_id: int, retry_in_s: float) -> None:
        super().__init__(f"update {update_id} is being handled elsewhere")
        self.update_id = update_id
        self.retry_in_s = retry_in_s

    @property
    def retry_after(self) -> int:
        """Whole seconds until the holder's lease may have run out (at least 1)."""
        return max(1, math.ceil(self.retry_in_s + _BUSY_MARGIN_S))


class UpdateClaimMiddleware(BaseMiddleware):
    """Outer middleware of `Dispatcher.update`: claims the update before it is handled.

    `wait_when_busy`: True (long polling) waits for another live claim to finish or run
    out; False (webhook) raises `UpdateBusyError` at once, and Telegram delivers the update
    again. `visitor`: who the update comes from, given it and the handler data; their
    visit is recorded with the claim and put in the handler data as `visit`. `sleep` (the
    waits for a busy claim) and `clock` (monotonic, for pruning) are injectable for tests;
    renewals keep real time, as the database's clock does.
    """

    def __init__(
        self,
        claims: UpdateClaims,
        *,
        wait_when_busy: bool,
        visitor: VisitorOf | None = None,
        prune_every_s: float = PRUNE_EVERY_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._claims = claims
        self._wait_when_busy = wait_when_busy
        self._visitor = visitor
        self._prune_every_s = prune_every_s
        self._sleep = sleep
        self._clock = clock
        self._next_prune = clock()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        claim = data.get(_CLAIM)
        if not isinstance(claim, Claimed) or claim.update_id != event.update_id:
            visitor = None if self._visitor is None else self._visitor(event, data)
            claim = await self._claim(event.update_id, visitor)
            if claim is None:
                logger.info("update %d: handled already; this delivery is dropped", event.update_id)
                return UNHANDLED
            data[_CLAIM] = claim
            if claim.visit is not None:
                data["visit"] = claim.visit
        try:
            async with self._renewed(claim):
                result = await handler(event, data)
        except Exception:
            await self._finish(claim)
            raise
        await self._finish(claim)
        return result

    async def _claim(self, update_id: int, visitor: Visitor | None) -> Claimed | None:
        """The update's claim, or None when it is handled already."""
        while True:
            found = await self._claims.claim(update_id, visitor)
            if isinstance(found, Claimed):
                return found
            if isinstance(found, Handled):
                return None
            assert isinstance(found, Busy)
            if not self._wait_when_busy:
                raise UpdateBusyError(update_id, found.retry_in_s)
            logger.info(
                "update %d: held by another claim; asking again in %.1f s",
                update_id,
                found.retry_in_s + _BUSY_MARGIN_S,
            )
            await self._sleep(found.retry_in_s + _BUSY_MARGIN_S)

    @contextlib.asynccontextmanager
    async def _renewed(self, claim: Claimed) -> AsyncIterator[None]:
        """Renews the claim's lease every third of it while the block runs. A renewal under
        way when the block ends is let finish, never cancelled: a statement cut off on
        SQLite's single connection can keep that connection from everyone else."""
        done = asyncio.Event()
        renewing = asyncio.ensure_future(self._renew_until(claim, done))
        try:
            yield
        finally:
            done.set()
            await asyncio.shield(renewing)

    async def _renew_until(self, claim: Claimed, done: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._claims.lease_s / 3):  # real time, as the lease
                    await done.wait()
            if done.is_set():
                return
            try:
                if not await self._claims.renew(claim):
                    logger.warning(
                        "update %d: its claim ran out and was taken over while it was "
                        "handled here; it may be handled twice",
                        claim.update_id,
                    )
                    return
            except Exception as exc:
                # The next renewal tries again; the lease covers two missed ones.
                logger.warning("update %d: the claim was not renewed: %s", claim.update_id, exc)

    async def _finish(self, claim: Claimed) -> None:
        """Mark the update handled. A failure leaves the claim to run out: a redelivery
        Telegram makes after that handles the update again, which is all it can cost."""
        try:
            await self._claims.finish(claim)
        except Exception as exc:
            logger.warning("update %d: not marked handled: %s", claim.update_id, exc)
            return
        if self._clock() >= self._next_prune:
            self._next_prune = self._clock() + self._prune_every_s
            try:
                pruned = await self._claims.prune()
            except Exception as exc:
                logger.warning("old update claims not pruned: %s", exc)
            else:
                logger.debug("pruned %d update claims older than a day", pruned)
