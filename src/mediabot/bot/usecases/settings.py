"""/settings: a user's default choice and form of files, read and changed."""

from __future__ import annotations

import uuid
from typing import Unpack

from mediabot.bot.usecases.ports import Ports
from mediabot.domain.preferences import Preferences, PreferencesChange


async def read_settings(ports: Ports, user_id: uuid.UUID) -> Preferences:
    """The user's settings as stored (the defaults when never changed)."""
    preferences = await ports.users.preferences(user_id)
    await ports.transaction.commit()
    return preferences


async def change_settings(
    ports: Ports,
    user_id: uuid.UUID,
    *,
    update_id: int | None = None,
    **change: Unpack[PreferencesChange],
) -> Preferences:
    """Store the settings given on the user, each unless a later update (a press after
    this one, handled side by side with it) set it already; their settings after it."""
    await ports.users.set_preferences(user_id, update_id=update_id, **change)
    preferences = await ports.users.preferences(user_id)
    await ports.transaction.commit()
    return preferences
