"""A message with links: each link gets a status message and then its buttons.

A playlist link (whatever yt-dlp lists as a playlist) gets one offer for all its items; a
video link that also names a playlist (`&list=`) gets the video's offer with a row that
opens the playlist's. Each link is answered on its own: a link whose lookup, database
step or message to Telegram fails is logged and answered as well as can be, and never
costs the other links of the message their answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.bot import texts
from mediabot.bot.filters import ForOtherBot, is_private
from mediabot.bot.keyboards import choices_keyboard, playlist_keyboard, whole_playlist_row
from mediabot.bot.links import extract_links
from mediabot.bot.outages import UpdateHold
from mediabot.config import Settings
from mediabot.db.models import File, Playlist
from mediabot.db.repositories import FileRepository, PlaylistRepository, ProviderRepository
from mediabot.domain.enums import RequestState
from mediabot.domain.media import TITLE_MAX_CHARS, MediaOptions
from mediabot.domain.offer import Offer
from mediabot.domain.playlist import PlaylistOptions, may_carry_playlist
from mediabot.downloaders.errors import DownloadError, PlaylistLinkError, SitePushBackError
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.errors import chat_unreachable

logger = logging.getLogger(__name__)

router = Router(name="links")

MAX_LINKS = 5
_LOOKUP_GRACE_S = 2.0
"""The lookup ends itself at `LOOKUP_TIMEOUT_S` with a reason; this outer bound only backs it up."""

Lookup = Callable[[str], Awaitable[MediaOptions]]
PushBackAlert = Callable[[SitePushBackError], Awaitable[None]]
PlaylistLookup = Callable[[str], Awaitable[PlaylistOptions]]


@dataclass(frozen=True, slots=True)
class _Found:
    """What a link offers: a video (or post), a playlist, or a video and its playlist."""

    media: MediaOptions | None = None
    playlist: PlaylistOptions | None = None


class _ChatClosedError(Exception):
    """Telegram will not take messages for this chat any more (blocked, kicked, gone)."""


def _has_link(message: Message) -> bool:
    return bool(extract_links(message, MAX_LINKS)[0])


async def _look_up(
    lookup: Lookup,
    playlist_lookup: PlaylistLookup | None,
    url: str,
    timeout_s: float,
    warn_admins: PushBackAlert,
) -> _Found | str:
    """The options a link offers, or the sentence that tells the user why not."""
    try:
        return await asyncio.wait_for(_find(lookup, playlist_lookup, url), timeout_s)
    except SitePushBackError as exc:
        logger.warning("link refused by the site: %s (%s): %s", url, exc.push_back, exc.detail)
        await warn_admins(exc)
        return texts.download_refused(exc)
    except DownloadError as exc:
        logger.info("link refused: %s (%s): %s", url, type(exc).__name__, exc.detail)
        return texts.download_refused(exc)
    except TimeoutError:
        logger.warning("lookup timed out after %.0f s: %s", timeout_s, url)
        return texts.lookup_failed()
    except Exception:
        logger.exception("lookup failed: %s", url)
        return texts.lookup_failed()


async def _find(lookup: Lookup, playlist_lookup: PlaylistLookup | None, url: str) -> _Found:
    """The link's offer: a playlist when the lookup finds one there, and the playlist a
    video link also names, listed at the same time."""
    if playlist_lookup is None:
        return _Found(media=await lookup(url))
    beside = (
        asyncio.ensure_future(_playlist_beside(playlist_lookup, url))
        if may_carry_playlist(url)
        else None
    )
    try:
        media = await lookup(url)
    except PlaylistLinkError:
        if beside is not None:
            beside.cancel()
        return _Found(playlist=await playlist_lookup(url))
    except BaseException:
        if beside is not None:
            beside.cancel()
        raise
    return _Found(media=media, playlist=await beside if beside is not None else None)


async def _playlist_beside(playlist_lookup: PlaylistLookup, url: str) -> PlaylistOptions | None:
    """The playlist a video link also names; None when it cannot be listed (the video is
    offered all the same)."""
    try:
        return await playlist_lookup(url)
    except DownloadError as exc:
        logger.info("no playlist beside %s (%s): %s", url, type(exc).__name__, exc.detail)
        return None


@router.message(_has_link, ~ForOtherBot())
async def offer_choices(
    message: Message,
    session: AsyncSession,
    lookup: Lookup,
    settings: Settings,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
    admin_alerts: AdminAlerts,
    hold: UpdateHold,
    playlist_lookup: PlaylistLookup | None = None,
) -> None:
    """Look up every link of the message and answer each with its resolution buttons.

    Links naming the same media get one offer: the URL tells most of them apart before any
    lookup (`extract_links`); those only the lookup tells (a share link and the post's own
    link) are folded after it. The status messages are out before anything is recorded, so
    each database step after them waits out an outage where it stands (`hold`) rather than
    run the update again.
    """
    urls, truncated = extract_links(message, MAX_LINKS)

    async def warn_admins(error: SitePushBackError) -> None:
        if message.bot is not None:
            await admin_alerts.warn_push_back(message.bot, error)

    try:
        statuses = [await _say(message, None, texts.looking_up(url)) for url in urls]
        if truncated:
            await _say(message, None, texts.too_many_links(MAX_LINKS))
    except _ChatClosedError:
        return
    timeout_s = settings.lookup_timeout_s + _LOOKUP_GRACE_S
    outcomes = await asyncio.gather(
        *(_look_up(lookup, playlist_lookup, url, timeout_s, warn_admins) for url in urls)
    )
    offered: set[str] = set()
    where = _Where(message, session, hold, chat_row_id, user_row_id)
    for url, status, outcome in zip(urls, statuses, outcomes, strict=True):
        if isinstance(outcome, _Found) and outcome.media is not None:
            if outcome.media.media_key in offered:
                logger.info("%s is %s again: one offer", url, outcome.media.media_key)
                await _withdraw(status)
                continue
            offered.add(outcome.media.media_key)
        try:
            await _answer(where, url, status, outcome)
        except _ChatClosedError:
            return
        except Exception:
            # One link's failure never costs the others their answer.
            await session.rollback()
            logger.exception("answering the link %s failed", url)


async def _answer(where: _Where, url: str, status: Message | None, outcome: _Found | str) -> None:
    """Answer one link: its refusal, or its offer recorded and shown with buttons."""
    message, session = where.message, where.session
    if isinstance(outcome, str):
        await _say(message, status, outcome)
        return
    if outcome.media is None:
        assert outcome.playlist is not None
        await _offer_playlist(where, status, outcome.playlist)
        return
    options = outcome.media
    if not options.resolutions and not options.has_audio and not options.photo_count:
        await _say(message, status, texts.nothing_to_offer())
        return
    shown_on = status.message_id if status is not None else None

    async def record() -> tuple[File, Playlist | None]:
        offer = await record_offer(
            session,
            where.chat_row_id,
            where.user_row_id,
            url,
            options,
            status_message_id=shown_on,
            link_message_id=where.link_message_id,
            message_thread_id=where.thread_id,
        )
        beside = None
        if outcome.playlist is not None:
            beside = await _record_playlist(session, where, shown_on, outcome.playlist)
        await session.commit()
        return offer, beside

    offer, beside = await where.hold(record, session=session)
    logger.info("offer %s: %s -> %s %s", offer.id, url, options.media_key, options.heights)
    extra_rows = []
    if beside is not None and outcome.playlist is not None:
        extra_rows.append(
            whole_playlist_row(beside.id, texts.whole_playlist(len(outcome.playlist.entries)))
        )
    keyboard = choices_keyboard(offer.id, options, extra_rows)
    shown = await _say(message, status, texts.choose(options.title), keyboard)
    if shown is not None and shown.message_id != shown_on:
        # The buttons went out as a new message: presses must be recognised on that one.
        await where.hold(lambda: _moved(session, shown.message_id, offer, beside), session=session)


async def _moved(session: AsyncSession, message_id: int, *offers: File | Playlist | None) -> None:
    """Record that `offers` are shown on the message `message_id` from now on."""
    for offer in offers:
        if offer is not None:
            offer.status_message_id = message_id
    await session.commit()


async def record_offer(
    session: AsyncSession,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
    url: str,
    options: MediaOptions,
    **where: int | None,
) -> File:
    """Record what a link offers, as a request of this chat's waiting for its choice
    (`where`: its status message, the link's message and topic). Not committed."""
    return await FileRepository(session).add(
        File(
            chat_id=chat_row_id,
            requested_by_id=user_row_id,
            provider_id=await ProviderRepository(session).id_of(options.provider),
            request_url=url,
            media_key=options.media_key,
            state=RequestState.OFFERED,
            title=options.title[:TITLE_MAX_CHARS] if options.title else None,
            duration_s=options.duration_s,
            offer=Offer.of(options),
            **where,
        )
    )


@dataclass(frozen=True, slots=True)
class _Where:
    """Who sent a link, and where its answers go."""

    message: Message
    session: AsyncSession
    hold: UpdateHold
    """Where each database step after the first message waits out an outage."""
    chat_row_id: uuid.UUID
    user_row_id: uuid.UUID

    @property
    def link_message_id(self) -> int | None:
        # In a group the files reply to the link, in its forum topic.
        return None if is_private(self.message) else self.message.message_id

    @property
    def thread_id(self) -> int | None:
        return self.message.message_thread_id if self.message.is_topic_message else None


async def _record_playlist(
    session: AsyncSession, where: _Where, status_message_id: int | None, options: PlaylistOptions
) -> Playlist:
    return await PlaylistRepository(session).add(
        Playlist(
            chat_id=where.chat_row_id,
            requested_by_id=where.user_row_id,
            request_url=options.url,
            title=options.title,
            state=RequestState.OFFERED,
            entries=options.entries,
            total_count=options.total_count,
            skipped_count=options.skipped,
            status_message_id=status_message_id,
            link_message_id=where.link_message_id,
            message_thread_id=where.thread_id,
        )
    )


async def _offer_playlist(where: _Where, status: Message | None, options: PlaylistOptions) -> None:
    """Record a playlist's offer and show it: its size, and one choice for all its items."""
    session = where.session

    async def record() -> Playlist:
        playlist = await _record_playlist(
            session, where, status.message_id if status is not None else None, options
        )
        await session.commit()
        return playlist

    playlist = await where.hold(record, session=session)
    logger.info(
        "playlist offer %s: %s -> %d items of %s",
        playlist.id,
        options.url,
        len(options.entries),
        options.total_count,
    )
    shown = await _say(
        where.message, status, playlist_offer_text(options), playlist_keyboard(playlist.id)
    )
    if shown is not None and shown.message_id != playlist.status_message_id:
        await where.hold(lambda: _moved(session, shown.message_id, playlist), session=session)


def playlist_offer_text(options: PlaylistOptions) -> str:
    """The text of a playlist's offer (its total only when the limit left items out)."""
    count = len(options.entries)
    total = options.total_count if options.capped else None
    return texts.choose_playlist(options.title, count, options.duration_s, total, options.skipped)


async def _say(
    message: Message,
    status: Message | None,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Put `text` in the status message, or in a new reply when there is none or it is gone.

    Returns the message that shows it, or None when Telegram refused both (logged with
    Telegram's detail). Raises `_ChatClosedError` when the chat can no longer be written to.
    """
    if status is not None:
        try:
            edited = await status.edit_text(
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )
        except TelegramAPIError as exc:
            _check_chat(message, exc)
            logger.warning(
                "chat %s: editing status message %s failed (%s); replying instead",
                message.chat.id,
                status.message_id,
                exc.message,
            )
        else:
            return edited if isinstance(edited, Message) else status
    try:
        return await message.reply(
            text, parse_mode=ParseMode.HTML, reply_markup=markup, disable_web_page_preview=True
        )
    except TelegramAPIError as exc:
        _check_chat(message, exc)
        logger.warning("chat %s: replying failed (%s)", message.chat.id, exc.message)
        return None


async def _withdraw(status: Message | None) -> None:
    """Remove a status message that turned out to duplicate another link's offer."""
    if status is None:
        return
    try:
        await status.delete()
    except TelegramAPIError as exc:
        logger.info("status message %s stays: %s", status.message_id, exc.message)


def _check_chat(message: Message, exc: TelegramAPIError) -> None:
    if chat_unreachable(exc):
        logger.info("chat %s no longer takes messages (%s)", message.chat.id, exc.message)
        raise _ChatClosedError from exc
