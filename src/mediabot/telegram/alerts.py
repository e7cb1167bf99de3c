"""Warnings to the bot's admins: one an hour per kind for the whole fleet, in their language.

Which process sends a warning is decided by an `AlertLedger`: over the database
(`db/alerts.py`), exactly one of the bot and worker processes claims a kind's hour; the
others stay silent until it has passed. Each admin gets the text in their language (their
`/language` choice, else Telegram's, else English), as the ledger knows it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError

from mediabot.downloaders.errors import SitePushBackError
from mediabot.i18n import _, locale_for, use_locale
from mediabot.telegram.texts import MESSAGE_LIMIT, safe_html

logger = logging.getLogger(__name__)

T = TypeVar("T")

ALERT_INTERVAL_S = 3600.0
LEDGER_TIMEOUT_S = 10.0
"""How long a warning waits for the ledger before its process decides alone."""

Languages = Mapping[int, tuple[str | None, str | None]]
"""By Telegram user id: (Telegram's `language_code`, the `/language` choice), as known."""


class AlertLedger(Protocol):
    """Where the hour of each kind of warning is claimed, and the admins' languages are read."""

    async def claim(self, kind: str, interval_s: float) -> bool:
        """True for one caller per `kind` per `interval_s` (counted from the last claim that
        succeeded), whatever number of callers ask at the same time; False for the rest."""
        ...

    async def languages(self, telegram_ids: Sequence[int]) -> Languages:
        """What is known of these users' languages; a user not known is left out."""
        ...


class LocalAlertLedger:
    """An `AlertLedger` of one process: its own hours, on `clock`; no languages known."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_sent: dict[str, float] = {}

    async def claim(self, kind: str, interval_s: float) -> bool:
        now = self._clock()
        last = self._last_sent.get(kind)
        if last is not None and now - last < interval_s:
            return False
        self._last_sent[kind] = now
        return True

    async def languages(self, telegram_ids: Sequence[int]) -> Languages:
        return {}


class AdminAlerts:
    """Sends `ADMIN_IDS` a warning of a kind at most once per `interval_s`, as `ledger` decides.

    The hour starts when a warning of that kind is sent, so a kind that keeps happening is
    reported again an hour later. Without a ledger, the process decides alone (on `clock`).
    When the ledger cannot be reached or does not answer within `ledger_timeout_s` (the
    database is down or busy), the process decides alone meanwhile and its admins hear
    English: a warning is worth more than its exact count, and the caller (a handler, a
    job) is never held up for long.
    Telegram's refusal to deliver to one admin is logged and does not keep the others from
    being told.
    """

    def __init__(
        self,
        admin_ids: tuple[int, ...],
        *,
        ledger: AlertLedger | None = None,
        interval_s: float = ALERT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        ledger_timeout_s: float = LEDGER_TIMEOUT_S,
    ) -> None:
        self._admin_ids = admin_ids
        self._interval_s = interval_s
        self._ledger_timeout_s = ledger_timeout_s
        self._local = LocalAlertLedger(clock)
        self._ledger: AlertLedger = ledger or self._local
        self._asking: set[asyncio.Task[Any]] = set()

    async def warn_push_back(self, bot: Bot, error: SitePushBackError) -> int:
        """Tell the admins what to configure about `error`, once an hour per kind."""
        return await self.warn(bot, error.push_back, lambda: push_back_warning(error))

    async def warn(self, bot: Bot, kind: str, text: str | Callable[[], str]) -> int:
        """Send `text` (HTML; a function is called in each admin's locale) to every admin
        when `kind` is due; returns how many got it."""
        if not self._admin_ids or not await self._claim(kind):
            return 0
        logger.warning("warning the admins: %s", kind)
        locales = await self._locales()
        sent = 0
        for admin_id in self._admin_ids:
            with use_locale(locales.get(admin_id)):
                body = text() if callable(text) else text
            try:
                await bot.send_message(
                    admin_id, body, parse_mode=ParseMode.HTML, disable_web_page_preview=True
                )
            except TelegramAPIError as exc:
                logger.warning("admin %s was not warned of %s: %s", admin_id, kind, exc.message)
            else:
                sent += 1
        return sent

    async def _claim(self, kind: str) -> bool:
        try:
            return await self._ask(self._ledger.claim(kind, self._interval_s))
        except Exception as exc:  # the ledger's store is down: never the caller's failure
            logger.warning("cannot claim the admins' warning %s (%r); deciding alone", kind, exc)
            return await self._local.claim(kind, self._interval_s)

    async def _locales(self) -> dict[int, str]:
        try:
            known = await self._ask(self._ledger.languages(self._admin_ids))
        except Exception as exc:  # the ledger's store is down: English, as for a stranger
            logger.warning("cannot read the admins' languages (%r); warning in English", exc)
            known = {}
        return {admin_id: locale_for(*known[admin_id]) for admin_id in known}

    async def _ask(self, question: Coroutine[Any, Any, T]) -> T:
        """The ledger's answer to `question` within `ledger_timeout_s` (else `TimeoutError`).

        The question itself runs to its end even when the answer comes too late or the
        caller is cancelled: a cancel inside a database statement can strand SQLite's one
        connection (`db.engine.uninterrupted`).
        """
        task = asyncio.ensure_future(question)
        self._asking.add(task)
        task.add_done_callback(self._asked)
        return await asyncio.wait_for(asyncio.shield(task), self._ledger_timeout_s)

    def _asked(self, task: asyncio.Task[Any]) -> None:
        self._asking.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.debug("the ledger answered: %r", task.exception())


def push_back_warning(error: SitePushBackError) -> str:
    """The admins' warning when a site refuses the bot, in the current locale (HTML)."""
    return _("⚠️ {hint}").format(hint=safe_html(_(error.admin_hint), MESSAGE_LIMIT - 4))
