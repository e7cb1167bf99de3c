"""A dispatcher with one recording message handler behind the claim middleware, for the
tests of update claims and of the webhook server; and the updates to feed it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Dispatcher, Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.bot.claims import UpdateClaimMiddleware
from mediabot.db.updates import UpdateClaims

_update_ids = itertools.count(5_000_001)


def message_update(text: str = "hello") -> dict[str, Any]:
    """A private message update with an update id of its own."""
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"},
            "text": text,
        },
    }


@dataclass
class Recorder:
    dispatcher: Dispatcher
    claims: UpdateClaims
    handled: list[str] = field(default_factory=list)
    """The texts of the messages handled, in order, once per run of the handler."""
    started: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the handler has run (recorded) at least once."""
    behaviour: Callable[[str], Awaitable[None]] | None = None
    """What the handler does after recording (block, raise)."""


def recording_dispatcher(
    engine: AsyncEngine,
    *,
    wait_when_busy: bool,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    lease_s: float = 30.0,
    outer: Any = None,
) -> Recorder:
    """The dispatcher, claiming as a process named "this-host-1"; `outer` is an update
    middleware registered outside the claims."""
    claims = UpdateClaims(engine, owner="this-host-1", lease_s=lease_s)
    dispatcher = Dispatcher()
    if outer is not None:
        dispatcher.update.outer_middleware(outer)
    dispatcher.update.outer_middleware(
        UpdateClaimMiddleware(claims, wait_when_busy=wait_when_busy, sleep=sleep)
    )
    recorder = Recorder(dispatcher, claims)
    router = Router()

    @router.message()
    async def record(message: Message) -> None:
        recorder.handled.append(message.text or "")
        recorder.started.set()
        if recorder.behaviour is not None:
            await recorder.behaviour(message.text or "")

    dispatcher.include_router(router)
    return recorder
