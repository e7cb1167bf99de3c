"""Inline mode: `@bot <link>` in any chat, even one the bot is not in.

A link already delivered as one file is answered with the files themselves (Telegram sends
the chosen one at once). Otherwise a worker looks the link up (the lookup lane,
`worker/lookups.py`) and answers the query within Telegram's window, with one result per
resolution and audio: each posts a placeholder (with a keyboard, without which Telegram
gives no inline message id). The chosen one comes back (inline feedback, @BotFather's
/setinlinefeedback) and is recorded and queued like a press; the worker uploads the file to
the storage chat (`STORAGE_CHAT_ID`) and edits the placeholder into it. A file in parts is
sent in the private chat instead, through the deep link the placeholder then shows
(`/start inline_<request>`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import ChosenInlineResult, InlineQuery, Message
from aiogram.types.inline_query_result_union import InlineQueryResultUnion
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.links import clips_of, first_link
from mediabot.bot.offers import OfferView, cached_results
from mediabot.bot.outages import UpdateHold
from mediabot.bot.usecases.inline import InlineChoices, SessionInlineRecords
from mediabot.bot.usecases.lookups import AskLookup
from mediabot.config import Settings
from mediabot.domain.inline import INLINE_START_PREFIX, InlineChoice, request_of_payload
from mediabot.domain.jobs import Job
from mediabot.i18n import current_locale
from mediabot.queue.base import JobQueue
from mediabot.telegram.flood import answer_deadline

logger = logging.getLogger(__name__)

router = Router(name="inline")

_ANSWER_WAIT_S = 2.0
"""Longest the answer itself may wait out flood control."""
_CACHE_TIME_S = 5
"""Answers are personal (the offers are the user's own rows): Telegram may reuse one for
this user only, and only briefly."""


@router.inline_query()
async def answer_inline_query(
    query: InlineQuery, settings: Settings, lookups: AskLookup, user_row_id: uuid.UUID
) -> None:
    """Offer the files a link was delivered as; else a worker looks it up and answers."""
    if settings.storage_chat_id is None:
        await _answer(query, [], texts.inline_not_configured())
        return
    url = first_link(query.query)
    if url is None:
        await _answer(query, [], texts.inline_send_a_link())
        return
    clip = clips_of(query.query, [url])[0][0]
    delivered = await lookups.for_inline_query(user_row_id, query.id, url, current_locale(), clip)
    if delivered:
        logger.info("inline query %s: %s answered from the cache", query.id, url)
        hint = None if clip is None else texts.inline_whole_only()
        await _answer(query, cached_results(delivered), hint)


@router.chosen_inline_result()
async def queue_chosen_result(
    chosen: ChosenInlineResult,
    session: AsyncSession,
    settings: Settings,
    job_queue: JobQueue,
    cached_queue: JobQueue,
    bot: Bot,
    user_row_id: uuid.UUID,
    hold: UpdateHold,
) -> None:
    """Record the chosen resolution as a request delivered into the inline message."""
    choice = InlineChoice.parse(chosen.result_id)
    place = chosen.inline_message_id
    if choice is None or place is None:
        # A cached file (sent by Telegram already), or a result id the bot never made.
        logger.info(
            "chosen inline result %r of user %s: nothing to do",
            chosen.result_id[:64],
            chosen.from_user.id,
        )
        return
    choices = _inline_choices(session, settings, hold, job_queue, cached_queue)
    refusal = await choices.chosen(user_row_id, choice, place)
    if refusal is not None:
        await _tell(bot, place, refusal)


@router.message(
    CommandStart(deep_link=True, magic=F.args.startswith(INLINE_START_PREFIX)),
    F.chat.type == ChatType.PRIVATE,
)
async def send_inline_parts(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    job_queue: JobQueue,
    cached_queue: JobQueue,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
    hold: UpdateHold,
) -> None:
    """The deep link of an inline message too large for it: the parts, sent here (a new
    request of this user's, resent from the storage chat's file ids)."""
    choices = _inline_choices(session, settings, hold, job_queue, cached_queue)
    answer = await choices.parts(request_of_payload(command.args), chat_row_id, user_row_id)
    await message.answer(answer)


def _inline_choices(
    session: AsyncSession,
    settings: Settings,
    hold: UpdateHold,
    job_queue: JobQueue,
    cached_queue: JobQueue,
) -> InlineChoices:
    """The use case over the update's session, publishing through its hold."""

    async def publish(job: Job) -> bool:
        return await hold.publish(job_queue, job)

    async def publish_cached(job: Job) -> bool:
        return await hold.publish(cached_queue, job)

    return InlineChoices(
        SessionInlineRecords(session, settings),
        publish,
        publish_cached,
        settings.max_active_requests,
    )


async def _answer(
    query: InlineQuery, results: Sequence[InlineQueryResultUnion], hint: str | None = None
) -> None:
    """Answer the query (with `hint` as the button above the results); a late answer,
    which Telegram refuses, is only logged."""
    button = OfferView().inline_hint(hint) if hint else None
    try:
        with answer_deadline(time.time() + _ANSWER_WAIT_S):
            await query.answer(
                list(results), cache_time=_CACHE_TIME_S, is_personal=True, button=button
            )
    except TelegramAPIError as exc:
        logger.info("answering inline query %s failed: %s", query.id, exc.message)


async def _tell(bot: Bot, inline_message_id: str, text: str) -> None:
    """Put a refusal in the inline message (it loses its keyboard); a failure is logged."""
    try:
        await bot.edit_message_text(text=text, inline_message_id=inline_message_id)
    except TelegramAPIError as exc:
        logger.info("inline message %s not edited: %s", inline_message_id, exc.message)
