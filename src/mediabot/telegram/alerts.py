"""Warnings to the bot's admins: one per hour per kind, whatever triggers them meanwhile."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError

from mediabot.downloaders.errors import SitePushBackError
from mediabot.i18n import _, use_locale
from mediabot.telegram.texts import MESSAGE_LIMIT, safe_html

logger = logging.getLogger(__name__)

ALERT_INTERVAL_S = 3600.0


class AdminAlerts:
    """Sends `ADMIN_IDS` a warning of a kind at most once per `interval_s` (per process).

    The hour starts when a warning of that kind is sent, so a kind that keeps happening is
    reported again an hour later. Telegram's refusal to deliver to one admin is logged and
    does not keep the others from being told.
    """

    def __init__(
        self,
        admin_ids: tuple[int, ...],
        *,
        interval_s: float = ALERT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._admin_ids = admin_ids
        self._interval_s = interval_s
        self._clock = clock
        self._last_sent: dict[str, float] = {}

    def due(self, kind: str) -> bool:
        """Whether a warning of `kind` would be sent now (and claims the hour if so)."""
        now = self._clock()
        last = self._last_sent.get(kind)
        if not self._admin_ids or (last is not None and now - last < self._interval_s):
            return False
        self._last_sent[kind] = now
        return True

    async def warn_push_back(self, bot: Bot, error: SitePushBackError) -> int:
        """Tell the admins what to configure about `error`, once an hour per kind."""
        return await self.warn(bot, error.push_back, push_back_warning(error))

    async def warn(self, bot: Bot, kind: str, text: str) -> int:
        """Send `text` (HTML) to every admin when `kind` is due; returns how many got it."""
        if not self.due(kind):
            return 0
        logger.warning("warning the admins: %s", kind)
        sent = 0
        for admin_id in self._admin_ids:
            try:
                await bot.send_message(
                    admin_id, text, parse_mode=ParseMode.HTML, disable_web_page_preview=True
                )
            except TelegramAPIError as exc:
                logger.warning("admin %s was not warned of %s: %s", admin_id, kind, exc.message)
            else:
                sent += 1
        return sent


def push_back_warning(error: SitePushBackError) -> str:
    """The admins' warning when a site refuses the bot: what to configure (HTML)."""
    with use_locale(None):  # the admins' language is not known here: the default one
        return _("⚠️ {hint}").format(hint=safe_html(_(error.admin_hint), MESSAGE_LIMIT - 4))
