"""A press on an offer's buttons: a choice queues the request, its ✖ cancels it.

The use cases (`bot.usecases.choose`) end their database work before the bot talks to
Telegram, so a press held through a database outage runs again from its start without
answering twice (`bot.outages`). Answering the press and the "Queued" note are courtesies
(`bot.courtesy`) given before the job is published: their failure never stops it.
"""

from __future__ import annotations

import uuid

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from mediabot.bot import clip_texts, texts
from mediabot.bot.courtesy import acknowledge, edit_in_place
from mediabot.bot.keyboards import (
    Choice,
    ChoiceData,
    OtherChoicesData,
    cancel_keyboard,
    offer_keyboard,
)
from mediabot.bot.presses import OfferPressed
from mediabot.bot.replies import refuse_by_limits, refused_text
from mediabot.bot.usecases import choose as choosing
from mediabot.bot.usecases.choose import CancelOutcome, Chosen, Queued, Refused
from mediabot.bot.usecases.limits import Limits
from mediabot.bot.usecases.lookups import AskLookup, LinksPlace
from mediabot.bot.usecases.ports import Ports
from mediabot.config import Settings
from mediabot.db.models import RequestRow
from mediabot.domain.clips import clip_of_media_key
from mediabot.domain.enums import MediaKind
from mediabot.domain.offer import Pick
from mediabot.i18n import current_locale

router = Router(name="choices")

_KINDS = {
    Choice.VIDEO: MediaKind.VIDEO,
    Choice.AUDIO: MediaKind.AUDIO,
    Choice.PHOTO: MediaKind.PHOTO,
}


@router.callback_query(OfferPressed(ChoiceData))
async def choose(
    callback: CallbackQuery,
    callback_data: ChoiceData,
    offer: RequestRow,
    shown_on: Message,
    ports: Ports,
    settings: Settings,
    user_row_id: uuid.UUID,
    lookups: AskLookup | None = None,
) -> None:
    """Turn a press on an offer's button into a queued request, or cancel it; "subtitles"
    asks the lookup lane for the `.srt`."""
    if callback_data.choice is Choice.SUBTITLES:
        if lookups is None:  # no lookup lane: subtitles are never offered then
            await acknowledge(callback, texts.not_available())
            return
        place = LinksPlace(
            chat_row_id=offer.chat_id,
            user_row_id=user_row_id,
            telegram_chat_id=shown_on.chat.id,
            message_id=shown_on.message_id,
            thread_id=offer.message_thread_id,
            in_group=offer.link_message_id is not None,
            locale=current_locale(),
        )
        await lookups.for_subtitles(place, offer.request_url, clip_of_media_key(offer.media_key)[1])
        await acknowledge(callback, clip_texts.subtitles_button())
        return
    if callback_data.choice is Choice.CANCEL:
        if await choosing.cancel(ports, offer) is CancelOutcome.CANCELLED:
            await acknowledge(callback, texts.cancelled())
            await edit_in_place(shown_on, texts.cancelled())
        else:
            await acknowledge(callback, texts.not_available())
        return

    async def reply(chosen: Chosen) -> None:
        if isinstance(chosen, Queued):
            await acknowledge(callback, texts.queued(chosen.position))
            if not chosen.cached:
                # A cached file arrives in a moment: the chat's message budget is kept for it.
                await edit_in_place(
                    shown_on, texts.queued(chosen.position), cancel_keyboard(offer.id)
                )
        elif isinstance(chosen, Refused):
            await acknowledge(callback, refused_text(chosen))
        else:
            await refuse_by_limits(callback, chosen)

    pick = Pick(_KINDS[callback_data.choice], callback_data.height)
    await choosing.choose(ports, offer, pick, user_row_id, Limits.of(settings), reply)


@router.callback_query(OfferPressed(OtherChoicesData))
async def offer_other_choices(
    callback: CallbackQuery, offer: RequestRow, shown_on: Message, ports: Ports
) -> None:
    """Bring back the keyboard of a request its owner's default chose, on the same message,
    for another choice (`OfferPressed` checked the chat, the message and the presser)."""
    reoffered = await choosing.offer_again(ports, offer, shown_on.message_id)
    if isinstance(reoffered, Refused):
        await acknowledge(callback, refused_text(reoffered))
        return
    assert reoffered.offer is not None  # copied from a request that has one
    await acknowledge(callback)
    await edit_in_place(
        shown_on, texts.choose(reoffered.title), offer_keyboard(reoffered.id, reoffered.offer)
    )
