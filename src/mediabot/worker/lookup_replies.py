"""The Telegram side of a lookup's answer: the offers recorded, the keyboards sent.

A message's links are answered one by one, in order: a refusal in plain words, or the
offer recorded (a `RequestRow` waiting for its choice, a `Playlist`, or both) and shown with its
buttons, in the placeholder when one was sent (`worker/lookups.py`), else as a reply to the
link. Links that the lookup shows to name one media (a share link and the post's own link)
get one offer. An inline query gets the files its media was delivered as, else its offer as
results, else a hint. The words and buttons are the bot's (`OfferView`, injected by `app/`);
they are said in the requester's language.

`answer` raises only while nothing of the answer was sent, so that the caller may give its
claim back and answer again without a second answer:
- a message's links: never (but for cancellation). A link whose answer fails before it was
  shown (its offer not recorded: the database away) is told the lookup failed, best effort;
  a failure after it was shown (recording the message that shows it) is only logged.
- an inline query: only before `answerInlineQuery`, its one send; the send's own failure is
  logged.
- subtitles (`SubtitleReplies`): only before their one message; the send's own failure is
  logged.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)
from aiogram.types.inline_query_result_union import InlineQueryResultUnion
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.db.models import LookupRequest, Playlist, RequestRow
from mediabot.db.repositories import (
    ChatRepository,
    RequestRows,
    TelegramChat,
)
from mediabot.domain.clips import Clip, ClipOffer, ClipProblem, ClipRangeError, clip_of_key
from mediabot.domain.lookups import Found, LookupKind, Outcome, Refused
from mediabot.domain.media import MediaOptions
from mediabot.domain.offer import ShownOffer
from mediabot.domain.playlist import PlaylistOptions
from mediabot.downloaders.errors import SitePushBackError, TooLongError, rebuild
from mediabot.i18n import use_locale
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.errors import chat_unreachable
from mediabot.telegram.flood import answer_deadline
from mediabot.worker.default_choice import DefaultChoices, ItemsChosen
from mediabot.worker.lookup_subtitles import SubtitleReplies
from mediabot.worker.offer_records import add_playlist, record_offer
from mediabot.worker.offer_view import OfferView

logger = logging.getLogger(__name__)

_CACHE_TIME_S = 5
"""Inline answers are personal (the offers are the user's own rows): Telegram may reuse one
for this user only, and only briefly."""
_ANSWER_WAIT_S = 2.0
"""Longest an inline answer may wait out flood control."""
_STORAGE_CHAT_TYPE = "storage"
_ANSWER_WINDOW_S = 300.0
"""A link's answer is worth sending until its update is this old (the bot's own rule for
its answers, `bot.middlewares.ANSWER_WINDOW_S`): flood waits are sat out until then, after
it the answer is dropped."""
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class _ChatClosedError(Exception):
    """Telegram will not take messages for this chat any more (blocked, kicked, gone)."""


@dataclass(frozen=True, slots=True)
class TelegramReplies:
    """`LookupReplies` over aiogram and the database."""

    bot: Bot
    sessions: async_sessionmaker[AsyncSession]
    view: OfferView
    admin_alerts: AdminAlerts
    storage_chat_id: int | None = None
    defaults: DefaultChoices | None = None
    """Chooses an offer by its owner's default (None: every offer is shown with its keyboard)."""
    subtitles: SubtitleReplies | None = None
    """Answers the presses on "subtitles" (None: not offered by this worker)."""
    max_duration_s: int | None = None
    """The duration limit, applied here to the whole or to the clip asked (the lookups
    tell a video's length whatever its limit: `lookup_pool`)."""

    async def placeholders(self, request: LookupRequest, links: list[int]) -> list[int | None]:
        shown: list[int | None] = [None] * len(request.urls)
        with use_locale(request.locale), answer_deadline(request.created_at + _ANSWER_WINDOW_S):
            try:
                for index in links:
                    sent = await self._say(request, None, self.view.looking_up(request.urls[index]))
                    shown[index] = sent.message_id if sent is not None else None
            except _ChatClosedError:
                pass
        return shown

    async def answer(self, request: LookupRequest, outcomes: list[Outcome | None]) -> None:
        with use_locale(request.locale):
            if request.kind == LookupKind.INLINE:
                await self._answer_inline(request, outcomes[0])
                return
            if request.kind == LookupKind.SUBTITLES:
                if self.subtitles is not None:
                    await self.subtitles.answer(request)
                return
            with answer_deadline(request.created_at + _ANSWER_WINDOW_S):
                await self._answer_links(request, outcomes)

    async def _answer_links(self, request: LookupRequest, outcomes: list[Outcome | None]) -> None:
        placeholders = request.placeholders or [None] * len(request.urls)
        clips = [clip_of_key(key) if key else None for key in request.clips or []]
        clips += [None] * (len(request.urls) - len(clips))
        offered: set[str] = set()
        for url, shown_on, outcome, clip in zip(
            request.urls, placeholders, outcomes, clips, strict=True
        ):
            key = outcome.media.media_key if isinstance(outcome, Found) and outcome.media else None
            again = key in offered
            if key is not None:
                offered.add(key)
            try:
                if again:
                    logger.info("%s is %s again: one offer", url, key)
                    await self._withdraw(request, shown_on)
                else:
                    await self._answer_link(request, url, shown_on, outcome, clip)
            except _ChatClosedError:
                return
            except Exception:
                # One link's failure never costs the others their answer; it came before
                # the link was shown (see the module), so the user is told instead.
                logger.exception("lookup %s: answering the link %s failed", request.id, url)
                if not again:
                    await self._say_failed(request, url, shown_on)

    async def _say_failed(self, request: LookupRequest, url: str, shown_on: int | None) -> None:
        """Tell that the link's lookup failed, best effort: a failure to say it is logged."""
        try:
            await self._say(request, shown_on, self.view.lookup_failed())
        except _ChatClosedError:
            pass  # the next link finds the chat closed too
        except Exception:
            logger.warning(
                "lookup %s: telling %s failed did not work", request.id, url, exc_info=True
            )

    async def _answer_link(
        self,
        request: LookupRequest,
        url: str,
        shown_on: int | None,
        outcome: Outcome | None,
        clip: Clip | None = None,
    ) -> None:
        if not isinstance(outcome, Found):
            await self._say(
                request, shown_on, await self._refusal(outcome, self.view.lookup_failed())
            )
            return
        if outcome.media is None:
            assert outcome.playlist is not None
            if clip is not None:  # the items are offered whole: say why not the clip
                refusal = ClipRangeError(ClipProblem.PLAYLIST, clip.label)
                await self._say(request, None, self.view.clip_refused(refusal))
            playlist = await self._record_playlist(request, shown_on, outcome.playlist)
            if await self._chosen_by_default(request, shown_on, playlist):
                return
            text, markup = self.view.playlist_offer(playlist.id, outcome.playlist)
            shown = await self._say(request, shown_on, text, markup)
            await self._moved(shown, shown_on, playlist)
            return
        options = outcome.media
        if not options.resolutions and not options.has_audio and not options.photo_count:
            await self._say(request, shown_on, self.view.nothing_to_offer())
            return
        clip = await self._clip_within(request, clip, options)
        whole = not self._too_long(options.duration_s)
        if not whole and (clip is None or self._too_long(clip.length_s(options.duration_s or 0))):
            await self._say(request, shown_on, self.view.too_long(self.max_duration_s or 0, clip))
            return
        async with self.sessions() as session:
            offer = await record_offer(session, request.chat_id, request, url, options, shown_on)
            clip_offer = None
            if clip is not None:
                clip_offer = await record_offer(
                    session, request.chat_id, request, url, options, shown_on, clip
                )
            beside = None
            if outcome.playlist is not None:
                beside = await add_playlist(session, request, shown_on, outcome.playlist)
            await session.commit()
        logger.info("offer %s: %s -> %s %s", offer.id, url, options.media_key, options.heights)
        # A clip asked, or a whole over the duration limit, is the user's to choose.
        if (
            clip is None
            and whole
            and await self._chosen_by_default(request, shown_on, offer, beside)
        ):
            return
        playlist_row = (
            (beside.id, len(outcome.playlist.entries))
            if beside is not None and outcome.playlist is not None
            else None
        )
        offered_clip = None
        if clip_offer is not None and clip is not None:
            offered_clip = ClipOffer(clip_offer.id, clip)
        text, markup = self.view.media_offer(
            ShownOffer(offer.id, options, playlist_row, offered_clip, whole)
        )
        shown = await self._say(request, shown_on, text, markup)
        await self._moved(shown, shown_on, offer, clip_offer, beside)

    def _too_long(self, duration_s: float | None) -> bool:
        limit = self.max_duration_s
        return limit is not None and duration_s is not None and duration_s > limit

    async def _clip_within(
        self, request: LookupRequest, clip: Clip | None, options: MediaOptions
    ) -> Clip | None:
        """The clip asked of the media, as it can be cut (`Clip.within`): None for none
        (nor for a clip that is the whole video). A clip that starts past the end is
        answered with a plain reason; the whole is offered all the same."""
        if clip is None or not (options.resolutions or options.has_audio):
            return None  # photos are not cut
        if options.duration_s is None:
            return clip  # the cut tells whether it starts past the end
        try:
            return clip.within(options.duration_s)
        except ClipRangeError as refusal:
            await self._say(request, None, self.view.clip_refused(refusal))
            return None

    async def _chosen_by_default(
        self,
        request: LookupRequest,
        shown_on: int | None,
        offer: RequestRow | Playlist,
        beside: Playlist | None = None,
    ) -> bool:
        """Choose `offer` (a media's, or a playlist's for all its items) by its owner's
        default and show it queued with its ✖ (its jobs published once the status message
        is recorded); False when the offer is to be shown with its keyboard (no default,
        not offered, limits reached)."""
        if self.defaults is None:
            return False
        try:
            chosen = await self.defaults.choose(offer)
        except Exception:
            # The keyboard still lets the user choose.
            logger.exception("offer %s: choosing it by default failed", offer.id)
            return False
        if chosen is None:
            return False
        if isinstance(chosen, ItemsChosen):
            text, markup = self.view.playlist_queued(offer.id, len(chosen.items))
        else:
            text, markup = self.view.queued(offer.id, chosen.position)
        shown = await self._say(request, shown_on, text, markup)
        await self._moved(shown, shown_on, offer, beside)
        await self.defaults.publish(chosen)
        return True

    async def _refusal(self, outcome: Refused | None, failed: str) -> str:
        """The words for a link refused (the admins hear of a site's push-back), or
        `failed` when the lookup itself failed or did not end in time."""
        if outcome is None or not outcome.error:
            return failed
        error = rebuild(outcome.error, outcome.message_id, outcome.values, outcome.detail)
        if isinstance(error, SitePushBackError):
            await self.admin_alerts.warn_push_back(self.bot, error)
        return self.view.refused(error)

    async def _record_playlist(
        self, request: LookupRequest, shown_on: int | None, options: PlaylistOptions
    ) -> Playlist:
        async with self.sessions() as session:
            playlist = await add_playlist(session, request, shown_on, options)
            await session.commit()
        logger.info(
            "playlist offer %s: %s -> %d items of %s",
            playlist.id,
            options.url,
            len(options.entries),
            options.total_count,
        )
        return playlist

    async def _moved(
        self, shown: Message | None, shown_on: int | None, *offers: RequestRow | Playlist | None
    ) -> None:
        """Record the message the offers are shown on, when it is not the placeholder (a
        playlist's items too: queued by a default, it is their status). Never raises: the
        offer is shown already, and is not to be answered again (a failure is logged)."""
        if shown is None or shown.message_id == shown_on:
            return
        try:
            await self._record_moved(shown.message_id, offers)
        except Exception:
            logger.exception("offers shown on message %s: recording it failed", shown.message_id)

    async def _record_moved(
        self, message_id: int, offers: tuple[RequestRow | Playlist | None, ...]
    ) -> None:
        async with self.sessions() as session:
            for offer in offers:
                if offer is not None:
                    table = type(offer)
                    await session.execute(
                        update(table)
                        .where(table.id == offer.id)
                        .values(status_message_id=message_id)
                    )
                if isinstance(offer, Playlist):
                    await session.execute(
                        update(RequestRow)
                        .where(RequestRow.playlist_id == offer.id)
                        .values(status_message_id=message_id)
                    )
            await session.commit()

    async def _say(
        self,
        request: LookupRequest,
        shown_on: int | None,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message | None:
        """Put `text` in the placeholder, or in a new reply when there is none or it is gone.

        Returns the message that shows it, or None when Telegram refused both (logged).
        Raises `_ChatClosedError` when the chat can no longer be written to.
        """
        chat_id = request.telegram_chat_id
        assert chat_id is not None
        if shown_on is not None:
            try:
                edited = await self.bot.edit_message_text(
                    text=text,
                    chat_id=chat_id,
                    message_id=shown_on,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    link_preview_options=_NO_PREVIEW,
                )
            except TelegramAPIError as exc:
                _check_chat(chat_id, exc)
                logger.warning(
                    "chat %s: editing placeholder %s failed (%s); replying instead",
                    chat_id,
                    shown_on,
                    exc.message,
                )
            else:
                return edited if isinstance(edited, Message) else None
        try:
            return await self.bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=_NO_PREVIEW,
                message_thread_id=request.message_thread_id,
                reply_parameters=(
                    ReplyParameters(message_id=request.message_id, allow_sending_without_reply=True)
                    if request.message_id is not None
                    else None
                ),
            )
        except TelegramAPIError as exc:
            _check_chat(chat_id, exc)
            logger.warning("chat %s: replying failed (%s)", chat_id, exc.message)
            return None

    async def _withdraw(self, request: LookupRequest, shown_on: int | None) -> None:
        """Remove a placeholder that turned out to duplicate another link's offer."""
        if shown_on is None or request.telegram_chat_id is None:
            return
        try:
            await self.bot.delete_message(chat_id=request.telegram_chat_id, message_id=shown_on)
        except TelegramAPIError as exc:
            logger.info("placeholder %s stays: %s", shown_on, exc.message)

    async def _answer_inline(self, request: LookupRequest, outcome: Outcome | None) -> None:
        url = request.urls[0]
        if not isinstance(outcome, Found):
            await self._inline(request, [], await self._refusal(outcome, self.view.inline_failed()))
            return
        if outcome.media is None:
            await self._inline(request, [], self.view.inline_playlist())
            return
        options = outcome.media
        # Inline results are whole videos: a query that asked for a clip is told so.
        whole_only = self.view.inline_whole_only() if any(request.clips or ()) else None
        async with self.sessions() as session:
            delivered = await RequestRows(session).delivered_whole(options.media_key)
        if delivered:
            logger.info("inline lookup %s: %s from the cache", request.id, options.media_key)
            await self._inline(request, self.view.inline_cached(delivered), whole_only)
            return
        if not options.resolutions and not options.has_audio:
            await self._inline(request, [], self.view.nothing_to_offer())
            return
        if self._too_long(options.duration_s):
            await self._inline(request, [], self.view.refused(TooLongError()))
            return
        assert self.storage_chat_id is not None and request.user_id is not None
        async with self.sessions() as session:
            storage = await ChatRepository(session).upsert(
                TelegramChat(telegram_id=self.storage_chat_id, type=_STORAGE_CHAT_TYPE, title=None),
                request.user_id,
            )
            offer = await record_offer(session, storage, request, url, options, None)
            await session.commit()
        me = await self.bot.me()
        results = self.view.inline_offer(offer.id, options, f"https://t.me/{me.username}")
        logger.info(
            "inline offer %s: %s -> %s %s", offer.id, url, options.media_key, options.heights
        )
        await self._inline(request, results, whole_only)

    async def _inline(
        self,
        request: LookupRequest,
        results: list[InlineQueryResultUnion],
        hint: str | None = None,
    ) -> None:
        """Answer the query (with `hint` as the button above the results); never raises: a
        late answer, which Telegram refuses, and any other failure of the send (which may
        have reached Telegram) are only logged."""
        assert request.inline_query_id is not None
        try:
            with answer_deadline(time.time() + _ANSWER_WAIT_S):
                await self.bot.answer_inline_query(
                    inline_query_id=request.inline_query_id,
                    results=results,
                    cache_time=_CACHE_TIME_S,
                    is_personal=True,
                    button=self.view.inline_hint(hint) if hint else None,
                )
        except TelegramAPIError as exc:
            logger.info("answering inline query of %s failed: %s", request.id, exc.message)
        except Exception:
            logger.exception("answering inline query of %s failed", request.id)


def _check_chat(chat_id: int, exc: TelegramAPIError) -> None:
    if chat_unreachable(exc):
        logger.info("chat %s no longer takes messages (%s)", chat_id, exc.message)
        raise _ChatClosedError from exc
