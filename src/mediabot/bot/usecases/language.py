"""/language: the user's choice of English or Russian, stored so that it sticks."""

from __future__ import annotations

import uuid

from mediabot.bot.usecases.ports import Ports


async def choose_language(ports: Ports, user_id: uuid.UUID, locale: str) -> None:
    """Store `locale` (one the bot speaks: its callback data takes no other) on the user."""
    await ports.users.set_language(user_id, locale)
    await ports.transaction.commit()
