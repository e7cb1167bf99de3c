"""How a link's answer looks: the offer's text and buttons, a refusal's words, the inline
results. The bot owns its words and its buttons (presses come back to its handlers); the
worker that answers a lookup shows them through this view (`worker/offer_view.py`,
wired in `app/`), in the requester's language (the caller sets it).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiogram.enums import ParseMode
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedAudio,
    InlineQueryResultCachedVideo,
    InlineQueryResultsButton,
    InputTextMessageContent,
)
from aiogram.types.inline_query_result_union import InlineQueryResultUnion

from mediabot.bot import clip_texts, texts
from mediabot.bot.keyboards import (
    cancel_keyboard,
    choices_keyboard,
    clip_only_keyboard,
    clip_rows,
    format_size,
    playlist_cancel_keyboard,
    playlist_keyboard,
    whole_playlist_row,
)
from mediabot.db.models import RequestRow
from mediabot.domain.clips import Clip, ClipRangeError
from mediabot.domain.enums import MediaKind
from mediabot.domain.inline import InlineChoice
from mediabot.domain.media import MediaOptions
from mediabot.domain.offer import ShownOffer
from mediabot.domain.playlist import PlaylistOptions
from mediabot.downloaders.errors import DownloadError
from mediabot.telegram.texts import fill_html, plain

MAX_INLINE_RESULTS = 50
_BUTTON_TEXT_LIMIT = 64


def playlist_offer_text(options: PlaylistOptions) -> str:
    """The text of a playlist's offer (its total only when the limit left items out)."""
    count = len(options.entries)
    total = options.total_count if options.capped else None
    return texts.choose_playlist(options.title, count, options.duration_s, total, options.skipped)


class OfferView:
    """The bot's words and buttons for a lookup's answer (the worker's `OfferView` port)."""

    def looking_up(self, url: str) -> str:
        return texts.looking_up(url)

    def lookup_failed(self) -> str:
        return texts.lookup_failed()

    def refused(self, error: DownloadError) -> str:
        return texts.download_refused(error)

    def nothing_to_offer(self) -> str:
        return texts.nothing_to_offer()

    def media_offer(self, shown: ShownOffer) -> tuple[str, InlineKeyboardMarkup]:
        """A video's offer, its clip's ✂ rows and its playlist's row as `shown` asks."""
        extra_rows = []
        options, clip = shown.options, shown.clip
        text = texts.choose(options.title)
        if clip is not None:
            extra_rows.extend(clip_rows(clip.offer_id, options, clip.clip))
            text = f"{text}\n{clip_texts.clip_offered(clip.clip)}"
            if not shown.whole:
                return text, clip_only_keyboard(shown.offer_id, extra_rows)
        if shown.beside is not None:
            playlist_id, count = shown.beside
            extra_rows.append(whole_playlist_row(playlist_id, texts.whole_playlist(count)))
        return text, choices_keyboard(shown.offer_id, options, extra_rows)

    def clip_refused(self, refusal: ClipRangeError) -> str:
        return clip_texts.clip_refused(refusal)

    def too_long(self, max_duration_s: int, clip: Clip | None) -> str:
        """A video over the limit: its clip is too (`clip`), or a clip may be asked."""
        minutes = max_duration_s // 60
        if clip is not None:
            return clip_texts.clip_too_long(minutes)
        return clip_texts.video_too_long_ask_a_clip(minutes)

    def subtitles_caption(self, language: str, automatic: bool) -> str:
        return clip_texts.subtitles_caption(language, automatic)

    def no_subtitles(self) -> str:
        return clip_texts.no_subtitles()

    def playlist_offer(
        self, playlist_id: uuid.UUID, options: PlaylistOptions
    ) -> tuple[str, InlineKeyboardMarkup]:
        return playlist_offer_text(options), playlist_keyboard(playlist_id)

    def queued(self, request_id: uuid.UUID, position: int) -> tuple[str, InlineKeyboardMarkup]:
        """A request its owner's default chose: queued, as a press would show it."""
        return texts.queued(position), cancel_keyboard(request_id)

    def playlist_queued(
        self, playlist_id: uuid.UUID, count: int
    ) -> tuple[str, InlineKeyboardMarkup]:
        """A playlist its owner's default chose: queued, as a press would show it."""
        return texts.playlist_queued(count), playlist_cancel_keyboard(playlist_id)

    def inline_hint(self, text: str) -> InlineQueryResultsButton:
        """The button above an inline answer without results, saying why."""
        return InlineQueryResultsButton(
            text=plain(text, _BUTTON_TEXT_LIMIT), start_parameter="inline"
        )

    def inline_failed(self) -> str:
        return texts.inline_lookup_failed()

    def inline_playlist(self) -> str:
        return texts.inline_playlist()

    def inline_whole_only(self) -> str:
        return texts.inline_whole_only()

    def inline_offer(
        self, offer_id: uuid.UUID, options: MediaOptions, bot_link: str
    ) -> list[InlineQueryResultUnion]:
        """One article per resolution, highest first, and audio only."""
        return offer_results(offer_id, options, bot_link)

    def inline_cached(self, delivered: Sequence[RequestRow]) -> list[InlineQueryResultUnion]:
        return cached_results(delivered)


def cached_results(delivered: Sequence[RequestRow]) -> list[InlineQueryResultUnion]:
    """The files a media was delivered as, one per kind and resolution (whole files only)."""
    results: list[InlineQueryResultUnion] = []
    for file in delivered[:MAX_INLINE_RESULTS]:
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


def offer_results(
    offer_id: uuid.UUID, options: MediaOptions, bot_link: str
) -> list[InlineQueryResultUnion]:
    """One article per resolution, highest first, and audio only; each posts a placeholder
    with a keyboard (without one Telegram gives no inline message id to edit)."""
    choices = [
        (
            InlineChoice(offer_id, MediaKind.VIDEO, resolution.height),
            texts.inline_video(resolution.height),
            resolution.estimated_bytes,
        )
        for resolution in reversed(options.resolutions)
    ]
    if options.has_audio:
        choices.append(
            (
                InlineChoice(offer_id, MediaKind.AUDIO),
                texts.inline_audio(),
                options.audio_estimated_bytes,
            )
        )
    placeholder = InputTextMessageContent(
        message_text=texts.inline_placeholder(options.title), parse_mode=ParseMode.HTML
    )
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
        for choice, title, size in choices[:MAX_INLINE_RESULTS]
    ]
