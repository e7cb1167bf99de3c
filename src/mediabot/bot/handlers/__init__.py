"""The bot's routers, in the order they must be tried: admin, inline mode (and its deep
link, before /start), other commands, links,
choices and playlists, catch-all."""

from __future__ import annotations

from aiogram import Router

from mediabot.bot.handlers import (
    admin,
    choices,
    fallback,
    history,
    inline,
    language,
    links,
    playlists,
    queue,
    settings,
    start,
)


def routers() -> list[Router]:
    return [
        admin.router,
        inline.router,
        start.router,
        queue.router,
        history.router,
        language.router,
        settings.router,
        links.router,
        choices.router,
        playlists.router,
        fallback.router,
    ]
