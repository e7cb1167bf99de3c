"""Inline mode: `@bot <link>` in any chat, even one the bot is not in.

A link already delivered as one file is answered with the files themselves (Telegram sends
the chosen one at once). Otherwise the link is looked up, within Telegram's answer window,
and offered as one result per resolution and audio: each posts a placeholder (with a
keyboard, without which Telegram gives no inline message id). The chosen one comes back
(inline feedback, @BotFather's /setinlinefeedback) and is recorded and queued like a
press; the worker uploads the file to the storage chat (`STORAGE_CHAT_ID`) and edits the
placeholder into it. A file in parts is sent in the private chat instead, through the
deep link the placeholder then shows (`/start inline_<request>`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import TypeGuard

from aiogram import Bot, F, Router
from aiogram.enums import ChatType, ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import (
    ChosenInlineResult,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultCachedAudio,
    InlineQueryResultCachedVideo,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
)
from aiogram.types.inline_query_result_union import InlineQueryResultUnion
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.handlers.links import Lookup, record_offer
from mediabot.bot.keyboards import format_size
from mediabot.bot.limits import limit_refusal, place_still_free
from mediabot.bot.links import first_link
from mediabot.bot.outages import UpdateHold
from mediabot.config import Settings
from mediabot.db.models import File
from mediabot.db.repositories import (
    ChatRepository,
    FileRepository,
    TelegramChat,
)
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.inline import INLINE_START_PREFIX, InlineChoice, request_of_payload
from mediabot.domain.jobs import Job
from mediabot.domain.media import MediaOptions
from mediabot.downloaders.errors import (
    DownloadError,
    PlaylistLinkError,
    SitePushBackError,
    UnsupportedLinkError,
)
from mediabot.downloaders.registry import recognise
from mediabot.i18n import _
from mediabot.queue.base import JobQueue
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.flood import answer_deadline
from mediabot.telegram.texts import fill_html, plain

logger = logging.getLogger(__name__)

router = Router(name="inline")

INLINE_LOOKUP_S = 7.0
"""Longest an inline query's lookup may take: Telegram drops an answer after about 10 s
("query is too old"), so a slower lookup is answered with a hint rather than late."""
_ANSWER_WAIT_S = 2.0
"""Longest the answer itself may wait out flood control."""
_BUTTON_TEXT_LIMIT = 64
_MAX_RESULTS = 50
_CACHE_TIME_S = 5
"""Answers are personal (the offers are the user's own rows): Telegram may reuse one for
this user only, and only briefly."""
_STORAGE_CHAT_TYPE = "storage"


@router.inline_query()
async def answer_inline_query(
    query: InlineQuery,
    session: AsyncSession,
    settings: Settings,
    lookup: Lookup,
    user_row_id: uuid.UUID,
    admin_alerts: AdminAlerts,
) -> None:
    """Offer a link's cached files, else its resolutions and audio; a hint when neither."""
    if settings.storage_chat_id is None:
        await _answer(query, [], texts.inline_not_configured())
        return
    url = first_link(query.query)
    if url is None:
        await _answer(query, [], texts.inline_send_a_link())
        return
    key = _key_of(url) or await FileRepository(session).delivered_key_of_url(url)
    cached = await _cached_results(session, key) if key is not None else []
    if cached:
        logger.info("inline query %s: %s answered from the cache", query.id, key)
        await _answer(query, cached)
        return
    await session.commit()  # end the read: the lookup takes seconds (SQLite has one connection)
    found = await _look_up(lookup, url, min(settings.lookup_timeout_s, INLINE_LOOKUP_S))
    if isinstance(found, SitePushBackError):
        if query.bot is not None:
            await admin_alerts.warn_push_back(query.bot, found)
        found = found.user_message_in(_)
    if isinstance(found, str):
        await _answer(query, [], found)
        return
    if found.media_key != key:  # a share link or a page: the cache under its real key
        cached = await _cached_results(session, found.media_key)
        if cached:
            await _answer(query, cached)
            return
    if not found.resolutions and not found.has_audio:
        await _answer(query, [], texts.nothing_to_offer())
        return
    offer = await _record_offer(session, settings.storage_chat_id, user_row_id, url, found)
    assert query.bot is not None
    results = _offer_results(offer, found, await _bot_link(query.bot))
    logger.info("inline offer %s: %s -> %s %s", offer.id, url, found.media_key, found.heights)
    await _answer(query, results)


@router.chosen_inline_result()
async def queue_chosen_result(
    chosen: ChosenInlineResult,
    session: AsyncSession,
    settings: Settings,
    job_queue: JobQueue,
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
    files = FileRepository(session)
    offer = await files.get(choice.offer_id)
    await session.commit()
    if offer is not None and offer.inline_message_id == place:
        return  # the same update again (a webhook's retry): already queued
    if not _may_choose(offer, choice, user_row_id):
        logger.warning(
            "refused chosen inline result %r of user %s", chosen.result_id, chosen.from_user.id
        )
        await _tell(bot, place, texts.not_available())
        return
    refusal = await limit_refusal(session, user_row_id, settings)
    if refusal is not None:
        await _tell(bot, place, refusal)
        return
    if not await place_still_free(session, user_row_id, settings.max_active_requests):
        await session.commit()
        await _tell(bot, place, texts.stack_full_alert(settings.max_active_requests))
        return
    if await files.choose(choice.offer_id, choice.kind, choice.height) is None:
        await session.commit()  # chosen already (the same update twice): nothing changes
        return
    await files.set_state(choice.offer_id, RequestState.QUEUED, inline_message_id=place)
    await session.commit()
    await _publish(hold, job_queue, choice.offer_id)


@router.message(
    CommandStart(deep_link=True, magic=F.args.startswith(INLINE_START_PREFIX)),
    F.chat.type == ChatType.PRIVATE,
)
async def send_inline_parts(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    settings: Settings,
    cached_queue: JobQueue,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
    hold: UpdateHold,
) -> None:
    """The deep link of an inline message too large for it: the parts, sent here (a new
    request of this user's, resent from the storage chat's file ids).

    Only the person who chose the inline result may pull its parts: request ids are seen
    by others (in button data in groups), so any other request named here, or someone
    else's inline request, is refused like a request that does not exist.
    """
    request_id = request_of_payload(command.args)
    files = FileRepository(session)
    delivered = await files.get(request_id, with_parts=True) if request_id is not None else None
    await session.commit()
    if not _parts_of_own_inline_delivery(delivered, user_row_id):
        logger.warning(
            "refused inline parts %r in chat %s", (command.args or "")[:64], message.chat.id
        )
        await message.answer(texts.not_available())
        return
    refusal = await limit_refusal(session, user_row_id, settings)
    if refusal is not None:
        await message.answer(refusal)
        return
    again = await files.again(delivered, chat_row_id, user_row_id)
    await session.commit()
    logger.info(
        "request %s: parts of inline request %s sent to the private chat", again.id, delivered.id
    )
    await message.answer(texts.inline_sending_parts())
    await _publish(hold, cached_queue, again.id)


def _parts_of_own_inline_delivery(
    delivered: File | None, user_row_id: uuid.UUID
) -> TypeGuard[File]:
    """Whether `delivered` is an inline request of this user's, delivered in parts."""
    return (
        delivered is not None
        and delivered.inline_message_id is not None
        and delivered.requested_by_id == user_row_id
        and delivered.state is RequestState.DELIVERED
        and bool(delivered.parts)
    )


def _key_of(url: str) -> str | None:
    """The media key the URL tells without any request (None: only a lookup tells)."""
    try:
        return recognise(url).media_key
    except UnsupportedLinkError:
        return None


async def _cached_results(session: AsyncSession, media_key: str) -> list[InlineQueryResultUnion]:
    """The files this media was delivered as, one per kind and resolution, whole files only."""
    delivered = await FileRepository(session).delivered_whole(media_key)
    await session.commit()
    results: list[InlineQueryResultUnion] = []
    for file in delivered[:_MAX_RESULTS]:
        part = file.parts[0]
        caption = _caption(file.title, file.request_url)
        if part.kind is MediaKind.VIDEO:
            results.append(
                InlineQueryResultCachedVideo(
                    id=f"c:{file.id.hex}",
                    video_file_id=part.telegram_file_id,
                    title=plain(file.title) or texts.untitled(),
                    description=texts.inline_video(file.resolution or 0),
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                )
            )
        elif part.kind is MediaKind.AUDIO:
            results.append(
                InlineQueryResultCachedAudio(
                    id=f"c:{file.id.hex}",
                    audio_file_id=part.telegram_file_id,
                    caption=caption,
                    parse_mode=ParseMode.HTML,
                )
            )
    return results


def _caption(title: str | None, url: str) -> str:
    """The caption the worker's deliveries carry: the title in bold and the source link."""
    clean = plain(title)
    if clean:
        return fill_html("<b>{title}</b>\n{url}", 1000, title=clean, url=url)
    return fill_html("{url}", 1000, url=url)


async def _look_up(
    lookup: Lookup, url: str, timeout_s: float
) -> MediaOptions | SitePushBackError | str:
    """The link's options, the site's refusal (the admins hear of it), or the short line
    that says why there are none."""
    try:
        return await asyncio.wait_for(lookup(url), timeout_s)
    except PlaylistLinkError:
        return texts.inline_playlist()
    except SitePushBackError as exc:
        logger.warning("inline link refused by the site: %s (%s)", url, exc.push_back)
        return exc
    except DownloadError as exc:
        logger.info("inline link refused: %s (%s): %s", url, type(exc).__name__, exc.detail)
        return exc.user_message_in(_)
    except TimeoutError:
        logger.info("inline lookup of %s took over %.0f s; answered without it", url, timeout_s)
        return texts.inline_lookup_failed()
    except Exception:
        logger.exception("inline lookup failed: %s", url)
        return texts.inline_lookup_failed()


async def _record_offer(
    session: AsyncSession,
    storage_chat_id: int,
    user_row_id: uuid.UUID,
    url: str,
    options: MediaOptions,
) -> File:
    """The offer as a request of the storage chat's, where its file will be uploaded."""
    storage = await ChatRepository(session).upsert(
        TelegramChat(telegram_id=storage_chat_id, type=_STORAGE_CHAT_TYPE, title=None), user_row_id
    )
    offer = await record_offer(session, storage, user_row_id, url, options)
    await session.commit()
    return offer


def _offer_results(
    offer: File, options: MediaOptions, bot_link: str
) -> list[InlineQueryResultUnion]:
    """One article per resolution, highest first, and audio only."""
    choices = [
        (
            InlineChoice(offer.id, MediaKind.VIDEO, resolution.height),
            texts.inline_video(resolution.height),
            resolution.estimated_bytes,
        )
        for resolution in reversed(options.resolutions)
    ]
    if options.has_audio:
        choices.append(
            (
                InlineChoice(offer.id, MediaKind.AUDIO),
                texts.inline_audio(),
                options.audio_estimated_bytes,
            )
        )
    placeholder = InputTextMessageContent(
        message_text=texts.inline_placeholder(options.title), parse_mode=ParseMode.HTML
    )
    # A placeholder without a keyboard gets no inline message id, so nothing could edit it.
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=texts.inline_open_bot(), url=bot_link)]]
    )
    return [
        InlineQueryResultArticle(
            id=choice.result_id,
            title=title,
            description=f"{plain(options.title, 100)} · {format_size(size)}",
            input_message_content=placeholder,
            reply_markup=keyboard,
        )
        for choice, title, size in choices[:_MAX_RESULTS]
    ]


async def _bot_link(bot: Bot) -> str:
    me = await bot.me()
    return f"https://t.me/{me.username}"


def _may_choose(offer: File | None, choice: InlineChoice, user_row_id: uuid.UUID) -> bool:
    """Whether the chosen result names an open offer of this user's, and a choice in it."""
    return (
        offer is not None
        and offer.requested_by_id == user_row_id
        and offer.state is RequestState.OFFERED
        and offer.offer is not None
        and offer.offer.offers(choice.kind, choice.height)
    )


async def _publish(hold: UpdateHold, job_queue: JobQueue, request_id: uuid.UUID) -> None:
    """Publish the request's job, waiting out a broker outage (see `UpdateHold.publish`)."""
    if await hold.publish(job_queue, Job(request_id)):
        logger.info("request %s: queued", request_id)


async def _answer(
    query: InlineQuery, results: Sequence[InlineQueryResultUnion], hint: str | None = None
) -> None:
    """Answer the query (with `hint` as the button above the results); a late answer,
    which Telegram refuses, is only logged."""
    button = (
        InlineQueryResultsButton(text=plain(hint, _BUTTON_TEXT_LIMIT), start_parameter="inline")
        if hint
        else None
    )
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
