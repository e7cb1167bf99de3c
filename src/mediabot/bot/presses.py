"""The filter of a press on an offer's buttons (a link's or a playlist's), and on the
"⚙ Other choices" of a request its owner's default chose (checked as its offer's would be).

One filter does every check a press on an offer needs before a handler may act on it:
its callback data parsed strictly, the offer loaded, the message and chat pressed matched
against the offer's, the presser matched against its owner. The handler gets the offer
(`offer`), the message that shows it (`shown_on`) and the parsed data (`callback_data`).

A press that fails a check is answered here ("not available", or an alert that only the
sender may choose) and handled by nobody: the catch-all answers only presses whose data
is no offer's (`is_offer_press`), so each press is answered once. Such a press is answered
before the access rules run; it changes nothing, whoever pressed.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message
from pydantic import ValidationError

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge
from mediabot.bot.keyboards import ChoiceData, OtherChoicesData, PlaylistData
from mediabot.bot.usecases.ports import Ports
from mediabot.bot.usecases.presses import Press, Verdict, pressed_offer

logger = logging.getLogger(__name__)

OfferData = ChoiceData | PlaylistData | OtherChoicesData
"""The data of a button that acts on an offer (or, "⚙ Other choices", brings it back)."""

_OFFER_DATA: tuple[type[OfferData], ...] = (ChoiceData, PlaylistData, OtherChoicesData)


def _parsed(kind: type[OfferData], data: str | None) -> OfferData | None:
    if data is None:
        return None
    try:
        return kind.unpack(data)
    except (TypeError, ValueError, ValidationError):
        return None


def is_offer_press(callback: CallbackQuery) -> bool:
    """Whether the press's data is an offer's button's (answered by `OfferPressed`)."""
    return any(_parsed(kind, callback.data) is not None for kind in _OFFER_DATA)


class OfferPressed(Filter):
    """A press on a button of `kind` that may act on its offer (see the module)."""

    def __init__(self, kind: type[OfferData]) -> None:
        self._kind = kind

    async def __call__(
        self, callback: CallbackQuery, ports: Ports, user_row_id: uuid.UUID | None = None
    ) -> bool | dict[str, Any]:
        data = _parsed(self._kind, callback.data)
        if data is None:
            return False
        message = callback.message
        if not isinstance(message, Message):  # too old for Telegram to show it
            return await _refused(callback, Verdict.NOT_AVAILABLE)
        press = Press(
            offer_id=data.playlist_id if isinstance(data, PlaylistData) else data.request_id,
            playlist=isinstance(data, PlaylistData),
            chat_id=message.chat.id,
            message_id=message.message_id,
            user_id=user_row_id,
        )
        offer = await pressed_offer(ports, press)
        if isinstance(offer, Verdict):
            return await _refused(callback, offer)
        return {"offer": offer, "shown_on": message, "callback_data": data}


async def _refused(callback: CallbackQuery, verdict: Verdict) -> bool:
    if verdict is Verdict.NOT_THE_SENDER:
        await acknowledge(callback, texts.only_the_sender(), alert=True)
    else:
        logger.warning("refused button press %r from user %s", callback.data, callback.from_user.id)
        await acknowledge(callback, texts.not_available())
    return False
