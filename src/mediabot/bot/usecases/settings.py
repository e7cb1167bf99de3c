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
    ports: Ports, user_id: uuid.UUID, **change: Unpack[PreferencesChange]
) -> Preferences:
    """Store the settings given on the user; their settings after it."""
    await ports.users.set_preferences(user_id, **change)
    preferences = await ports.users.preferences(user_id)
    await ports.transaction.commit()
    return preferences
