"""The bot's routers, in the order they must be tried: commands, links, choices, catch-all."""

from __future__ import annotations

from aiogram import Router

from mediabot.bot.handlers import choices, fallback, links, start


def routers() -> list[Router]:
    return [start.router, links.router, choices.router, fallback.router]
