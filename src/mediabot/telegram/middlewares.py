"""Request middlewares of the bot session: pacing, and retries that never duplicate."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

from mediabot.domain.retry import Backoff
from mediabot.telegram.flood import FloodWait, current_deadline, current_hand_back, notify
from mediabot.telegram.pacing import Clock, Pacer, Sleep

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)

_UNPACED = frozenset({"sendChatAction"})
"""Methods that neither create nor change a message."""


class PacingMiddleware(BaseRequestMiddleware):
    """Waits for a `Pacer` slot before every method that posts or edits a message.

    Telegram counts edits against the same limits as new messages. An album counts as one
    message per item. Chat actions pass straight through. Inside an `answer_deadline`, a
    request whose slot would come after the deadline (its chat is sitting out a flood
    wait) raises `TelegramRetryAfter` at once instead of waiting. Droppable edits (progress) are
    checked with `Pacer.has_room` by their caller, and skipped rather than queued.
    """

    def __init__(self, pacer: Pacer, *, wall_clock: Clock = time.time) -> None:
        self._pacer = pacer
        self._wall_clock = wall_clock

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        chat_id = getattr(method, "chat_id", None)
        posts = name.startswith(("send", "copy", "forward", "editMessage")) and name not in _UNPACED
        if posts and isinstance(chat_id, int):
            media = getattr(method, "media", None)
            weight = len(media) if isinstance(media, list) else 1
            await self._check_deadline(method, chat_id)
            await self._pacer.acquire(chat_id, weight)
        return await make_request(bot, method)

    async def _check_deadline(self, method: TelegramMethod[TelegramType], chat_id: int) -> None:
        """Refuse to queue an answer whose slot (held back by a flood wait) comes too late."""
        deadline = current_deadline()
        if deadline is None:
            return
        delay = await self._pacer.delay(chat_id)
        if delay > 0 and self._wall_clock() + delay > deadline:
            logger.warning(
                "%s to chat %s: held back %.0f s by flood control, after the answer is due",
                method.__api_method__,
                chat_id,
                delay,
            )
            raise TelegramRetryAfter(
                method=method,
                message="held back by flood control past the answer's deadline",
                retry_after=max(1, math.ceil(delay)),
            )


class RetryMiddleware(BaseRequestMiddleware):
    """Repeats a request that Telegram asked to repeat or that failed on the way.

    - 429 (`TelegramRetryAfter`): holds the request's chat back in the `Pacer` for
      `retry_after` seconds (the whole bot only when 429s come from several chats, see
      `Pacer.penalize`), tells the context's `flood_observer`s, waits, and sends the same
      request again; Telegram did not act on it, so this never duplicates a message.
      It waits as long as Telegram says, unless the waits would add up to more than
      `max_flood_wait_s` (None: no cap) or end after the context's `answer_deadline`:
      then the 429 is raised.
    - network errors and 5xx: up to `max_attempts` attempts in all, with exponential
      backoff from `base_delay_s` capped at `max_delay_s`.
    - 413 (`TelegramEntityTooLarge`) and every other error: raised at once; a smaller
      upload is the caller's decision.
    """

    def __init__(
        self,
        *,
        pacer: Pacer | None = None,
        max_attempts: int = 4,
        max_flood_wait_s: float | None = None,
        base_delay_s: float = 1.0,
        max_delay_s: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
    ) -> None:
        self._pacer = pacer
        self._max_attempts = max_attempts
        self._max_flood_wait_s = max_flood_wait_s
        self._backoff = Backoff(base_delay_s, max_delay_s, max_attempts)
        self._sleep = sleep
        self._wall_clock = wall_clock

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        failures = 0
        flood_waited = 0.0
        name = method.__api_method__
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                await self._wait_out(exc, name, method, flood_waited)
                flood_waited += exc.retry_after
            except TelegramEntityTooLarge:
                raise
            except (TelegramNetworkError, TelegramServerError) as exc:
                failures += 1
                if self._backoff.gives_up_after(failures):
                    raise
                delay = self._backoff.delay_s(failures)
                logger.warning(
                    "%s failed (%s), attempt %d of %d, retrying in %.1f s",
                    name,
                    _redact(str(exc), bot.token),
                    failures,
                    self._max_attempts,
                    delay,
                )
                await self._sleep(delay)

    async def _wait_out(
        self,
        exc: TelegramRetryAfter,
        name: str,
        method: TelegramMethod[TelegramType],
        waited: float,
    ) -> None:
        """Sleep out a 429, or raise it when the cap or the answer deadline forbids."""
        chat = getattr(method, "chat_id", None)
        chat_id = chat if isinstance(chat, int) else None
        # An inline message's edit names no chat: its 429 is about that message, not about
        # the bot, so it holds back only this request (a chat-less 429 holds back everyone).
        inline = chat_id is None and getattr(method, "inline_message_id", None) is not None
        if self._pacer is not None and not inline:
            await self._pacer.penalize(chat_id, exc.retry_after)
        if self._max_flood_wait_s is not None and waited + exc.retry_after > self._max_flood_wait_s:
            logger.warning(
                "%s to chat %s: flood control asks %d s more, over the %.0f s cap; giving up",
                name,
                chat_id,
                exc.retry_after,
                self._max_flood_wait_s,
            )
            raise exc
        hand_back = current_hand_back()
        if hand_back is not None and exc.retry_after > hand_back:
            logger.warning(
                "%s to chat %s: flood control asks %d s, longer than a job waits in its slot",
                name,
                chat_id,
                exc.retry_after,
            )
            raise exc
        deadline = current_deadline()
        if deadline is not None and self._wall_clock() + exc.retry_after > deadline:
            logger.warning(
                "%s to chat %s: flood control asks %d s, after the answer is due; giving up",
                name,
                chat_id,
                exc.retry_after,
            )
            raise exc
        logger.warning(
            "%s to chat %s: flood control, retrying in %d s", name, chat_id, exc.retry_after
        )
        notify(FloodWait(chat_id, name, float(exc.retry_after), waited))
        await self._sleep(float(exc.retry_after))


def _redact(text: str, token: str) -> str:
    """Errors from the HTTP layer may quote the request URL, which holds the token."""
    return text.replace(token, "<token>") if token else text
