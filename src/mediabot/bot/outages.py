"""Updates held while the database or the broker is briefly away.

PostgreSQL restarted, upgraded or failed over, RabbitMQ restarted: for some seconds every
update fails where it first needs them (the session middleware's upsert, a publish). Long
polling has confirmed the update to Telegram already (and a webhook answered it), so a
failure would lose it for good. Instead the update is held: its handling runs again from
the start, with backoff, until the service answers or the update's answer window closes
(`AnswerDeadlineMiddleware`); a user waiting longer than `NOTICE_AFTER_S` is told once per
outage (`texts.busy_for_a_moment`), whatever number of updates of theirs wait. Only
unavailability is held (`unavailable`): any other failure is raised at once, with its
traceback.

Running a handler again from its start is safe because handlers do their database work
before they talk to Telegram. A step that must touch the database after something was sent
(the id of a message just sent, a list shown again) is held where it stands, through the
`UpdateHold` every handler may ask for as `hold`; a job is published through
`UpdateHold.publish`, which waits out a broker outage instead of failing the request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, User

from mediabot.bot import texts
from mediabot.bot.courtesy import COURTESY_WAIT_S
from mediabot.bot.middlewares import ANSWER_WINDOW_S
from mediabot.bot.usecases.ports import Transaction
from mediabot.db.outages import database_unavailable
from mediabot.domain.jobs import Job
from mediabot.domain.retry import Backoff, hold_through
from mediabot.i18n import locale_for, use_locale
from mediabot.queue.base import JobQueue, PublishFailedError
from mediabot.telegram.flood import answer_deadline, current_deadline

logger = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

HOLD_BACKOFF = Backoff(base_delay_s=0.25, max_delay_s=2.0)
"""Waits between tries of a held update: an answer follows within 2 s of the service's return."""
NOTICE_AFTER_S = 4.0
"""A user whose update has been held this long is told that the answer is coming."""
TOLD_KEPT_S = 60.0
"""How long after an outage its chats count as told: a database coming back from a restart
may fail a few statements more, which is the same outage to the user."""


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database or the broker cannot be reached right now."""
    return isinstance(exc, PublishFailedError) or database_unavailable(exc)


class Outages:
    """What this bot process knows of the outage under way, and how it holds updates.

    An outage begins with the first update held and ends when a held step goes through; the
    chats told of it are remembered until a new outage begins `TOLD_KEPT_S` after that end,
    so each is told once however many of its updates wait, and a restarted database that
    fails a few more statements as it comes back tells no one twice. `clock` (monotonic)
    and `sleep` are injectable for tests on a fake clock;
    `wall_clock` reads the answer deadline, which is wall-clock time.
    """

    def __init__(
        self,
        *,
        backoff: Backoff = HOLD_BACKOFF,
        notice_after_s: float = NOTICE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.backoff = backoff
        self.notice_after_s = notice_after_s
        self.clock = clock
        self.sleep = sleep
        self._wall_clock = wall_clock
        self._since: float | None = None
        self._ended_at: float | None = None
        self._told: set[int] = set()
        self._held = 0

    def hold(
        self,
        bot: Bot | None,
        chat: Chat | None,
        user: User | None,
        thread_id: int | None = None,
    ) -> UpdateHold:
        """The hold of one update, until its answer deadline (or `ANSWER_WINDOW_S` from now)."""
        deadline = current_deadline()
        window_s = ANSWER_WINDOW_S if deadline is None else deadline - self._wall_clock()
        return UpdateHold(
            self,
            bot,
            chat.id if chat is not None else None,
            thread_id,
            locale_for(user.language_code if user is not None else None),
            give_up_at=self.clock() + window_s,
        )

    def began(self, exc: BaseException, *, new_update: bool = True) -> None:
        """An update was held (`new_update`: for the first time): the outage began now,
        unless it is already under way."""
        self._held += new_update
        if self._since is None:
            self._since = self.clock()
            if self._ended_at is None or self._since - self._ended_at > TOLD_KEPT_S:
                self._told.clear()
            logger.warning(
                "the database or the broker is unavailable (%s); holding updates until it answers",
                _brief(exc),
            )

    def ended(self) -> None:
        """A held step went through: the outage is over, its chats may be told of the next."""
        if self._since is None:
            return
        logger.info(
            "the database and the broker answer again: a held update went through %.1f s "
            "after the first was held; %d update(s) were held",
            self.clock() - self._since,
            self._held,
        )
        self._since = None
        self._ended_at = self.clock()
        self._held = 0

    def first_to_tell(self, chat_id: int) -> bool:
        """Whether `chat_id` is yet to be told of this outage (it counts as told from now)."""
        if chat_id in self._told:
            return False
        self._told.add(chat_id)
        return True


@dataclass(eq=False)
class UpdateHold:
    """Holds the steps of one update through outages, and tells its chat once if it lasts."""

    outages: Outages
    bot: Bot | None
    chat_id: int | None
    thread_id: int | None
    locale: str
    give_up_at: float
    """`Outages.clock` time after which an outage is no longer waited out."""
    _first_held_at: float | None = field(default=None, init=False)
    _telling: asyncio.Future[None] | None = field(default=None, init=False)

    async def __call__(
        self, step: Callable[[], Awaitable[T]], *, session: Transaction | None = None
    ) -> T:
        """`step()`, run again while the database or the broker is away.

        `session` (the update's session, or the use cases' transaction over it), when
        given, is rolled back after each such failure, so the next try
        starts a fresh transaction on a fresh connection. Raises the last failure once the
        answer deadline has passed, and any other failure at once.
        """

        async def attempt() -> T:
            try:
                return await step()
            except Exception as exc:
                if session is not None and unavailable(exc):
                    await _rolled_back(session)
                raise

        held = False

        async def on_hold(exc: BaseException, failures: int) -> None:
            nonlocal held
            held = True
            self.outages.began(exc, new_update=self._first_held_at is None)
            now = self.outages.clock()
            if self._first_held_at is None:
                self._first_held_at = now
            logger.debug("chat %s: update held (try %d): %s", self.chat_id, failures, _brief(exc))
            if now - self._first_held_at >= self.outages.notice_after_s:
                await self.tell()

        outages = self.outages
        result = await hold_through(
            attempt,
            unavailable,
            outages.backoff,
            give_up_at=self.give_up_at,
            on_hold=on_hold,
            clock=outages.clock,
            sleep=outages.sleep,
        )
        if held:
            outages.ended()
        return result

    async def publish(self, queue: JobQueue, job: Job) -> bool:
        """Publish `job`, waiting out a broker outage; the chat is told once if it lasts.

        A publish the broker has not confirmed within `Outages.notice_after_s` means the
        broker is away (the queue retries it within its own publish timeout, then raises
        `PublishFailedError`, which is held like any outage). False when the answer deadline
        passed first: the request stays queued, and the workers' recovery publishes it once
        the broker is back.
        """
        unconfirmed = asyncio.ensure_future(self._unconfirmed(job))
        published = True
        try:
            await self(lambda: queue.publish(job))
        except PublishFailedError:
            logger.exception(
                "request %s: not published before its answer was due; recovery publishes it",
                job.request_id,
            )
            published = False
        finally:
            unconfirmed.cancel()
        if self._telling is not None:
            await self._telling  # a notice begun goes out before the update's answer
        if published and self._first_held_at is not None:
            self.outages.ended()  # the broker took it: whatever this update waited for is back
        return published

    async def _unconfirmed(self, job: Job) -> None:
        """After `notice_after_s` without the broker's confirm: an outage, told once."""
        await self.outages.sleep(self.outages.notice_after_s)
        first = self._first_held_at is None
        if first:
            self._first_held_at = self.outages.clock()
        self.outages.began(
            PublishFailedError(f"job {job.request_id} unconfirmed"), new_update=first
        )
        # Once begun, the notice is sent whatever becomes of the publish.
        self._telling = asyncio.ensure_future(self.tell())
        await asyncio.shield(self._telling)

    async def tell(self) -> None:
        """Tell the chat, once per outage, that its answer is on its way. A courtesy: it
        needs neither the database nor the broker, and a refusal is only logged."""
        if self.bot is None or self.chat_id is None or not self.outages.first_to_tell(self.chat_id):
            return
        with use_locale(self.locale):
            text = texts.busy_for_a_moment()
        try:
            with answer_deadline(time.time() + COURTESY_WAIT_S):
                await self.bot.send_message(self.chat_id, text, message_thread_id=self.thread_id)
        except TelegramAPIError as exc:
            logger.info("chat %s: the outage notice was not sent: %s", self.chat_id, exc.message)
        except Exception:
            logger.warning("chat %s: the outage notice was not sent", self.chat_id, exc_info=True)


class OutageMiddleware(BaseMiddleware):
    """Holds an update through outages of the database or the broker (see the module).

    Outer middleware of `Dispatcher.update`, inside `AnswerDeadlineMiddleware` (whose
    deadline bounds the hold) and around everything else: the session middleware's upsert
    is the first step an outage meets. Handlers get the update's hold as `hold`.
    """

    def __init__(self, outages: Outages | None = None) -> None:
        self._outages = outages or Outages()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        hold = self._outages.hold(
            data.get("bot"),
            data.get("event_chat"),
            data.get("event_from_user"),
            data.get("event_thread_id"),
        )
        data["hold"] = hold
        return await hold(lambda: handler(event, data))


async def _rolled_back(session: Transaction) -> None:
    """Roll `session` back after its connection failed; the rollback's own failure (the
    connection is gone) changes nothing and is only logged."""
    try:
        await session.rollback()
    except Exception as exc:
        logger.debug("rollback after an outage failed: %s", _brief(exc))


def _brief(exc: BaseException) -> str:
    """The error in one short line (a driver's message can run over several)."""
    line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {line[:200]}"
