"""Button data as the bot packs it, one press of each kind, and forgeries of it."""

from __future__ import annotations

import uuid

from aiogram.filters.callback_data import CallbackData

import mediabot.bot.dispatcher  # noqa: F401 - every handler module, and so every class
from mediabot.bot.keyboards import (
    Choice,
    ChoiceData,
    HistoryAction,
    HistoryData,
    LanguageData,
    OtherChoicesData,
    PlaylistChoice,
    PlaylistData,
    QueueCancelData,
    SettingsData,
)
from mediabot.domain.preferences import DefaultChoice, DeliveryForm

_ID = uuid.UUID("0123456789abcdef0123456789abcdef")
VALID: list[CallbackData] = [
    ChoiceData(request_id=_ID, choice=Choice.VIDEO, height=720),
    ChoiceData(request_id=_ID, choice=Choice.CANCEL),
    PlaylistData(playlist_id=_ID, choice=PlaylistChoice.AUDIO),
    PlaylistData(playlist_id=_ID, choice=PlaylistChoice.VIDEO, height=1080),
    QueueCancelData(request_id=_ID),
    HistoryData(action=HistoryAction.SEND, request_id=_ID),
    HistoryData(action=HistoryAction.PAGE, page=3),
    LanguageData(locale="ru"),
    OtherChoicesData(request_id=_ID),
    SettingsData(user_id=4242, default=DefaultChoice.UP_TO_720),
    SettingsData(user_id=4242, form=DeliveryForm.DOCUMENT),
]
"""A press of each kind the bot makes (every callback-data class has one here)."""

_FORGED_VALUES = [
    "",
    " ",
    "0",
    "-1",
    "+1",
    "01",
    "1.0",
    "10001",
    "x",
    "de",
    "zz",
    _ID.hex.upper(),
    str(_ID),
    f"{{{_ID}}}",
    f"urn:uuid:{_ID}",
    _ID.hex[:31],
    _ID.hex + "0",
    "é" * 3,
]


def callback_data_classes() -> set[type[CallbackData]]:
    """Every callback-data class of mediabot's."""
    found: set[type[CallbackData]] = set()
    pending = list(CallbackData.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("mediabot."):
            found.add(cls)
    return found


def forgeries(data: CallbackData) -> list[str]:
    """`data` packed, with each field replaced by each forged value, one field missing,
    one too many."""
    separator = type(data).__separator__
    packed = data.pack()
    prefix, *fields = packed.split(separator)
    forged = [separator.join([prefix, *fields[:-1]]), f"{packed}{separator}0"]
    for index in range(len(fields)):
        for value in _FORGED_VALUES:
            changed = [*fields[:index], value, *fields[index + 1 :]]
            forged.append(separator.join([prefix, *changed]))
    return list(dict.fromkeys(forged))


def unpacks(cls: type[CallbackData], data: str) -> bool:
    try:
        cls.unpack(data)
    except (TypeError, ValueError):
        return False
    return True
