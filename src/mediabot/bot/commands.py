"""The command menus Telegram shows: per scope (private chats, groups), in each language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeUnion,
)

from mediabot.i18n import DEFAULT_LOCALE, N_, SUPPORTED_LOCALES, _, use_locale

logger = logging.getLogger(__name__)

_PRIVATE = (
    ("start", N_("What I do")),
    ("help", N_("How to use me")),
    ("queue", N_("Your requests in progress")),
    ("history", N_("Files you got, to send again")),
    ("language", N_("Choose the language")),
    ("settings", N_("Your default choice and how files come")),
)
_GROUP = (
    ("dl", N_("Download a link: /dl <link>")),
    ("queue", N_("Your requests in progress")),
    ("history", N_("Files you got, to send again")),
    ("language", N_("Choose the language")),
    ("settings", N_("Your default choice and how files come")),
    ("help", N_("How to use me")),
)


def commands(scope: str) -> list[BotCommand]:
    """The menu of `scope` ("private" or "group") in the current language."""
    entries = _PRIVATE if scope == "private" else _GROUP
    return [BotCommand(command=name, description=_(text)) for name, text in entries]


async def register_commands(bot: Bot) -> None:
    """Set the menus of private chats and groups, the default one in English and one per
    other language (Telegram picks by the user's language). A refusal is only logged."""
    scopes: tuple[tuple[str, BotCommandScopeUnion], ...] = (
        ("private", BotCommandScopeAllPrivateChats()),
        ("group", BotCommandScopeAllGroupChats()),
    )
    try:
        for locale in SUPPORTED_LOCALES:
            language_code = None if locale == DEFAULT_LOCALE else locale
            for name, scope in scopes:
                with use_locale(locale):
                    menu = commands(name)
                await bot.set_my_commands(menu, scope=scope, language_code=language_code)
    except TelegramAPIError as exc:
        logger.warning("setting the command menus failed: %s", exc)
