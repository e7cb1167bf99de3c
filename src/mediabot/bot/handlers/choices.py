"""A button press: check it, record the choice, queue the job, show the position.

Every database step ends (commit or rollback) before the bot talks to Telegram, so no
connection is held across the network, and a press held through a database outage runs
again from its start without answering twice (`bot.outages`). Answering the press and the
"Queued" note are courtesies (`bot.courtesy`): their failure never stops the job from being
published, which waits out a broker outage (`UpdateHold.publish`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge, note
from mediabot.bot.keyboards import Choice, ChoiceData, cancel_keyboard
from mediabot.bot.limits import place_still_free, refused_by_limits, refused_when_full
from mediabot.bot.outages import UpdateHold
from mediabot.config import Settings
from mediabot.db.models import File, Playlist
from mediabot.db.repositories import FileRepository
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.queue.base import JobQueue

logger = logging.getLogger(__name__)

router = Router(name="choices")

_KINDS = {
    Choice.VIDEO: MediaKind.VIDEO,
    Choice.AUDIO: MediaKind.AUDIO,
    Choice.PHOTO: MediaKind.PHOTO,
}


@dataclass(frozen=True, slots=True)
class _Queued:
    position: int
    cached: bool


_FULL = _Queued(-1, cached=False)
"""`_queue`'s answer when the user's stack is full."""


def _offered(file: File, data: ChoiceData) -> bool:
    return file.offer is not None and file.offer.offers(_KINDS[data.choice], data.height)


async def pressed_on(
    callback: CallbackQuery, offer: File | Playlist | None, user_row_id: uuid.UUID
) -> Message | None:
    """The message of a press that may act on `offer`: the one showing its buttons, pressed
    by the user who sent the link. None when not (the press is answered why)."""
    message = callback.message
    if (
        not isinstance(message, Message)
        or offer is None
        or offer.chat.telegram_id != message.chat.id
        or offer.status_message_id != message.message_id
    ):
        logger.warning("refused button press %r from user %s", callback.data, callback.from_user.id)
        await acknowledge(callback, texts.not_available())
        return None
    if offer.requested_by_id is not None and offer.requested_by_id != user_row_id:
        # In a group only the person who sent the link may choose or cancel.
        await acknowledge(callback, texts.only_the_sender(), alert=True)
        return None
    return message


@router.callback_query(ChoiceData.filter())
async def choose(
    callback: CallbackQuery,
    callback_data: ChoiceData,
    session: AsyncSession,
    job_queue: JobQueue,
    cached_queue: JobQueue,
    settings: Settings,
    user_row_id: uuid.UUID,
    hold: UpdateHold,
) -> None:
    """Turn a press on an offer's button into a queued request (or cancel it).

    A file Telegram already has goes to the workers' cached lane, where it never waits
    behind downloads; the worker hands it to the main lane if it cannot be sent from there.
    """
    files = FileRepository(session)
    file = await files.get_with_chat(callback_data.request_id)
    await session.commit()  # end the read (objects stay loaded) before talking to Telegram
    message = await pressed_on(callback, file, user_row_id)
    if message is None or file is None:
        return
    if callback_data.choice is Choice.CANCEL:
        await _cancel(callback, message, session, file)
        return
    if file.state is not RequestState.OFFERED:
        await acknowledge(
            callback, texts.not_available() if file.state.is_final else texts.already_chosen()
        )
        return
    if not _offered(file, callback_data):
        logger.warning("refused choice %r not in the offer of %s", callback.data, file.id)
        await acknowledge(callback, texts.not_available())
        return

    if await refused_by_limits(callback, session, user_row_id, settings):
        return

    kind = _KINDS[callback_data.choice]
    resolution = callback_data.height if kind is MediaKind.VIDEO else None
    queued = await _queue(session, file, kind, resolution, settings.max_active_requests)
    if queued is None:
        await acknowledge(callback, texts.already_chosen())
        return
    if queued is _FULL:  # another press of this user's got in first
        await refused_when_full(callback, session, user_row_id, settings.max_active_requests)
        return
    await acknowledge(callback, texts.queued(queued.position))
    if not queued.cached:
        # A cached file arrives in a moment: the chat's message budget is kept for it.
        await note(message, texts.queued(queued.position), cancel_keyboard(file.id))
    if await hold.publish(cached_queue if queued.cached else job_queue, Job(file.id)):
        logger.info("request %s: queued %s %s", file.id, kind, resolution or "")


async def _queue(
    session: AsyncSession, file: File, kind: MediaKind, resolution: int | None, max_active: int
) -> _Queued | None:
    """Record the choice and the queued state; None when the offer was already taken,
    `_FULL` when the user's stack filled up meanwhile (checked again under their lock)."""
    files = FileRepository(session)
    if file.requested_by_id is not None and not await place_still_free(
        session, file.requested_by_id, max_active
    ):
        await session.commit()
        return _FULL
    chosen = await files.choose(file.id, kind, resolution)
    if chosen is None:
        await session.commit()  # nothing changed; ends the transaction
        return None
    await files.set_state(file.id, RequestState.QUEUED)
    queued = await files.get(file.id)
    position = await files.queue_position(queued) if queued is not None else 0
    cached = await files.find_delivered(file.media_key, kind, resolution) is not None
    await session.commit()
    return _Queued(position, cached)


async def _cancel(
    callback: CallbackQuery, message: Message, session: AsyncSession, file: File
) -> None:
    if file.state.is_final:
        await acknowledge(callback, texts.not_available())
        return
    await FileRepository(session).set_state(file.id, RequestState.CANCELLED)
    await session.commit()
    logger.info("request %s: cancelled by the user", file.id)
    await acknowledge(callback, texts.cancelled())
    await note(message, texts.cancelled())
