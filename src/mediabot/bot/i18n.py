"""The bot's side of `mediabot.i18n`: each update is answered in its user's language."""

from __future__ import annotations

from typing import Any

from aiogram.types import TelegramObject, User
from aiogram.utils.i18n import I18nMiddleware

from mediabot.db.visits import Visit
from mediabot.i18n import i18n, locale_for


class UserLocaleMiddleware(I18nMiddleware):
    """aiogram's i18n middleware choosing the user's `/language`, else Telegram's language.

    An outer middleware registered after `DatabaseMiddleware`, whose `visit` tells the
    user's choice; handlers then call ``_()`` (through `bot.texts`) and get the user's
    language.
    """

    def __init__(self) -> None:
        super().__init__(i18n)

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("event_from_user")
        visit: Visit | None = data.get("visit")
        return locale_for(
            user.language_code if user is not None else None,
            visit.language if visit is not None else None,
        )
