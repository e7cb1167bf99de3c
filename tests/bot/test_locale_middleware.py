"""The locale middleware answers in the language the user chose, else in Telegram's."""

from __future__ import annotations

import uuid

from aiogram.types import User

from mediabot.bot.i18n import UserLocaleMiddleware
from mediabot.db.visits import Visit

ANN = User(id=31337, is_bot=False, first_name="Ann", language_code="en")


async def test_the_chosen_language_wins_over_telegrams() -> None:
    data = {"event_from_user": ANN, "visit": Visit(uuid.uuid4(), None, "ru", banned=False)}
    assert await UserLocaleMiddleware().get_locale(ANN, data) == "ru"


async def test_without_a_choice_telegrams_language_is_used() -> None:
    data = {"event_from_user": ANN, "visit": Visit(uuid.uuid4(), None, None, banned=False)}
    assert await UserLocaleMiddleware().get_locale(ANN, data) == "en"
