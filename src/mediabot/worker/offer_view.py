"""The words and buttons a lookup's answer is made of, as the worker asks for them.

The bot owns them (`bot/offers.py`); `app/` hands them to the worker, which never imports
the bot.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from aiogram.types import InlineKeyboardMarkup, InlineQueryResultsButton
from aiogram.types.inline_query_result_union import InlineQueryResultUnion

from mediabot.db.models import RequestRow
from mediabot.domain.clips import Clip, ClipRangeError
from mediabot.domain.media import MediaOptions
from mediabot.domain.offer import ShownOffer
from mediabot.domain.playlist import PlaylistOptions
from mediabot.downloaders.errors import DownloadError


class OfferView(Protocol):
    """The bot's words and buttons for an answer (`bot/offers.py`)."""

    def looking_up(self, url: str) -> str: ...
    def lookup_failed(self) -> str: ...
    def refused(self, error: DownloadError) -> str: ...
    def nothing_to_offer(self) -> str: ...
    def media_offer(self, shown: ShownOffer) -> tuple[str, InlineKeyboardMarkup]: ...
    def clip_refused(self, refusal: ClipRangeError) -> str: ...
    def too_long(self, max_duration_s: int, clip: Clip | None) -> str: ...
    def playlist_offer(
        self, playlist_id: uuid.UUID, options: PlaylistOptions
    ) -> tuple[str, InlineKeyboardMarkup]: ...
    def queued(self, request_id: uuid.UUID, position: int) -> tuple[str, InlineKeyboardMarkup]:
        """A request queued (by its owner's default): its place in the line and its ✖."""
        ...

    def playlist_queued(
        self, playlist_id: uuid.UUID, count: int
    ) -> tuple[str, InlineKeyboardMarkup]:
        """A playlist's `count` items queued (by its owner's default), with its ✖."""
        ...

    def inline_hint(self, text: str) -> InlineQueryResultsButton: ...
    def inline_failed(self) -> str: ...
    def inline_playlist(self) -> str: ...
    def inline_whole_only(self) -> str:
        """The hint above whole-video results for a query that asked for a clip."""

    def inline_offer(
        self, offer_id: uuid.UUID, options: MediaOptions, bot_link: str
    ) -> list[InlineQueryResultUnion]: ...
    def inline_cached(self, delivered: Sequence[RequestRow]) -> list[InlineQueryResultUnion]: ...
