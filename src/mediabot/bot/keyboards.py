"""Inline keyboards and the callback-data schema of the choice buttons.

The callback data carries the request id and the choice, never the URL: the request row
says which link it is about and which chat may choose.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import Field

from mediabot.domain.media import MediaOptions
from mediabot.domain.playlist import PLAYLIST_HEIGHTS
from mediabot.i18n import SUPPORTED_LOCALES, _


class Choice(StrEnum):
    VIDEO = "v"
    AUDIO = "a"
    PHOTO = "p"
    CANCEL = "x"


class ChoiceData(CallbackData, prefix="c"):
    request: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]  # the request's UUID, hex
    choice: Choice
    height: Annotated[int, Field(ge=0, le=10_000)] = 0

    @property
    def request_id(self) -> uuid.UUID:
        return uuid.UUID(hex=self.request)


def format_size(size_bytes: int | None) -> str:
    """A size as people read it: "14 MB", "1.2 GB", "850 KB"."""
    if not size_bytes:
        return _("size unknown")
    size = float(size_bytes)
    for unit in ("B", "KB", "MB"):
        if size < 1000:
            return f"{size:.0f} {unit}" if unit != "MB" or size >= 10 else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def choices_keyboard(
    request_id: uuid.UUID,
    options: MediaOptions,
    extra_rows: list[list[InlineKeyboardButton]] | None = None,
) -> InlineKeyboardMarkup:
    """One button per resolution with its estimated size, audio only, `extra_rows` (the
    playlist a video link also names), and cancel."""
    request = request_id.hex
    rows: list[list[InlineKeyboardButton]] = []
    video_buttons = [
        InlineKeyboardButton(
            text=f"{resolution.height}p · {format_size(resolution.estimated_bytes)}",
            callback_data=ChoiceData(
                request=request, choice=Choice.VIDEO, height=resolution.height
            ).pack(),
        )
        for resolution in options.resolutions
    ]
    rows.extend(video_buttons[index : index + 2] for index in range(0, len(video_buttons), 2))
    if options.photo_count and not options.resolutions:
        label = (
            _("Photo")
            if options.photo_count == 1
            else _("All {count} items").format(count=options.photo_count)
        )
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"📥 {label}",
                    callback_data=ChoiceData(request=request, choice=Choice.PHOTO).pack(),
                )
            ]
        )
    if options.has_audio:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("🎵 Audio only · {size}").format(
                        size=format_size(options.audio_estimated_bytes)
                    ),
                    callback_data=ChoiceData(request=request, choice=Choice.AUDIO).pack(),
                )
            ]
        )
    rows.extend(extra_rows or [])
    rows.append(
        [
            InlineKeyboardButton(
                text=_("✖ Cancel"),
                callback_data=ChoiceData(request=request, choice=Choice.CANCEL).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


class PlaylistChoice(StrEnum):
    VIDEO = "v"
    AUDIO = "a"
    OPEN = "o"
    """Offer the playlist a video link also names, in a message of its own."""
    CANCEL = "x"


class PlaylistData(CallbackData, prefix="l"):
    """A playlist's button: a choice for all its items, its offer opened, or its ✖."""

    playlist: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]  # the playlist's UUID, hex
    choice: PlaylistChoice
    height: Annotated[int, Field(ge=0, le=10_000)] = 0

    @property
    def playlist_id(self) -> uuid.UUID:
        return uuid.UUID(hex=self.playlist)


def playlist_keyboard(playlist_id: uuid.UUID) -> InlineKeyboardMarkup:
    """A playlist's offer: one row of heights and audio only, for all its items; cancel."""
    playlist = playlist_id.hex
    heights = [
        InlineKeyboardButton(
            text=f"{height}p",
            callback_data=PlaylistData(
                playlist=playlist, choice=PlaylistChoice.VIDEO, height=height
            ).pack(),
        )
        for height in PLAYLIST_HEIGHTS
    ]
    audio = InlineKeyboardButton(
        text=_("🎵 Audio only"),
        callback_data=PlaylistData(playlist=playlist, choice=PlaylistChoice.AUDIO).pack(),
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[heights, [audio], [_playlist_cancel_button(playlist_id)]]
    )


def whole_playlist_row(playlist_id: uuid.UUID, label: str) -> list[InlineKeyboardButton]:
    """The row under a video's offer that opens the offer of the playlist the link names."""
    data = PlaylistData(playlist=playlist_id.hex, choice=PlaylistChoice.OPEN).pack()
    return [InlineKeyboardButton(text=label, callback_data=data)]


def playlist_cancel_keyboard(playlist_id: uuid.UUID) -> InlineKeyboardMarkup:
    """The one ✖ of a playlist on its way: it cancels every item not delivered yet."""
    return InlineKeyboardMarkup(inline_keyboard=[[_playlist_cancel_button(playlist_id)]])


def _playlist_cancel_button(playlist_id: uuid.UUID) -> InlineKeyboardButton:
    data = PlaylistData(playlist=playlist_id.hex, choice=PlaylistChoice.CANCEL).pack()
    return InlineKeyboardButton(text=_("✖ Cancel"), callback_data=data)


def cancel_keyboard(request_id: uuid.UUID) -> InlineKeyboardMarkup:
    """The single button shown while a request waits or runs."""
    data = ChoiceData(request=request_id.hex, choice=Choice.CANCEL).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("✖ Cancel"), callback_data=data)]]
    )


_HEX_UUID = r"^[0-9a-f]{32}$"


class QueueCancelData(CallbackData, prefix="q"):
    """✖ on a line of /queue: cancel that request (its owner only)."""

    request: Annotated[str, Field(pattern=_HEX_UUID)]

    @property
    def request_id(self) -> uuid.UUID:
        return uuid.UUID(hex=self.request)


class HistoryAction(StrEnum):
    SEND = "s"
    PAGE = "p"


class HistoryData(CallbackData, prefix="h"):
    """A /history button: send a delivered file again, or show another page."""

    action: HistoryAction
    request: Annotated[str, Field(pattern=r"^([0-9a-f]{32})?$")] = ""
    page: Annotated[int, Field(ge=0, le=10_000)] = 0

    @property
    def request_id(self) -> uuid.UUID:
        return uuid.UUID(hex=self.request)


def queue_keyboard(request_ids: list[uuid.UUID]) -> InlineKeyboardMarkup:
    """A ✖ per request in flight, numbered as the list's lines."""
    buttons = [
        InlineKeyboardButton(
            text=f"✖ {number}", callback_data=QueueCancelData(request=request_id.hex).pack()
        )
        for number, request_id in enumerate(request_ids, start=1)
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[index : index + 5] for index in range(0, len(buttons), 5)]
    )


def history_keyboard(
    request_ids: list[uuid.UUID], first_number: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    """A send-again button per delivered file (numbered as the lines), then ◀ ▶ pages."""
    buttons = [
        InlineKeyboardButton(
            text=f"↻ {number}",
            callback_data=HistoryData(action=HistoryAction.SEND, request=request_id.hex).pack(),
        )
        for number, request_id in enumerate(request_ids, start=first_number)
    ]
    rows = [buttons[index : index + 5] for index in range(0, len(buttons), 5)]
    turns = []
    if page > 0:
        data = HistoryData(action=HistoryAction.PAGE, page=page - 1).pack()
        turns.append(InlineKeyboardButton(text="◀", callback_data=data))
    if page + 1 < pages:
        data = HistoryData(action=HistoryAction.PAGE, page=page + 1).pack()
        turns.append(InlineKeyboardButton(text="▶", callback_data=data))
    if turns:
        rows.append(turns)
    return InlineKeyboardMarkup(inline_keyboard=rows)


class LanguageData(CallbackData, prefix="lang"):
    locale: Annotated[str, Field(pattern=r"^[a-z]{2}$")]


LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}
"""Each language in itself: not translated, so anyone finds their own."""


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per supported language (/language)."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=LANGUAGE_NAMES.get(locale, locale),
                    callback_data=LanguageData(locale=locale).pack(),
                )
                for locale in SUPPORTED_LOCALES
            ]
        ]
    )
