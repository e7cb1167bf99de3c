"""Inline keyboards and the callback-data schema of their buttons.

The callback data carries the request id and the choice, never the URL: the request row
says which link it is about and which chat may choose.

Every callback-data class parses all of its fields when a press is matched: ids are
`HexId` (exactly 32 lowercase hex digits, as the bot packs them), numbers are bounded,
choices are enums, and a class whose fields depend on each other says so in a validator.
Data that does not parse (empty or malformed ids, a forged press) matches no handler:
the catch-all answers it with the usual short "not available", and no handler ever sees
a value it cannot use.
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated, Self

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from mediabot.bot import clip_texts
from mediabot.domain.clips import Clip
from mediabot.domain.media import MediaOptions
from mediabot.domain.offer import Offer
from mediabot.domain.playlist import PLAYLIST_HEIGHTS
from mediabot.domain.preferences import DefaultChoice, DeliveryForm, Preferences
from mediabot.i18n import SUPPORTED_LOCALES, _

_HEX_UUID = re.compile(r"[0-9a-f]{32}")


def _hex_uuid(value: object) -> object:
    """A packed id (32 lowercase hex digits) as a UUID; any other text is refused."""
    if isinstance(value, str):
        if not _HEX_UUID.fullmatch(value):
            raise ValueError("an id is 32 lowercase hex digits")
        return uuid.UUID(hex=value)
    return value


def _digits(value: object) -> object:
    """A packed number (plain decimal digits, as the bot packs them); any other text
    ("+1", " 1", "1.0", "01") is refused."""
    if isinstance(value, str) and not re.fullmatch(r"0|[1-9][0-9]{0,4}", value):
        raise ValueError("a number is plain decimal digits")
    return value


def _telegram_id(value: object) -> object:
    """A packed Telegram user id (plain decimal digits, no sign); any other text is refused."""
    if isinstance(value, str) and not re.fullmatch(r"[1-9][0-9]{0,15}", value):
        raise ValueError("a Telegram id is plain decimal digits")
    return value


HexId = Annotated[uuid.UUID, BeforeValidator(_hex_uuid)]
"""A row's id in callback data: packed as its hex, parsed back strictly."""
Count = Annotated[int, BeforeValidator(_digits), Field(ge=0, le=10_000)]
"""A height or a page number in callback data."""
TelegramId = Annotated[int, BeforeValidator(_telegram_id), Field(ge=1, le=2**53)]
"""A Telegram user's id in callback data."""


class Choice(StrEnum):
    VIDEO = "v"
    AUDIO = "a"
    PHOTO = "p"
    SUBTITLES = "s"
    """The source's subtitles as an `.srt` (of the clip, on a clip's offer)."""
    CANCEL = "x"


class ChoiceData(CallbackData, prefix="c"):
    """An offer's button: a resolution, audio, the photos, or its ✖."""

    request_id: HexId
    choice: Choice
    height: Count = 0


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
    """The keyboard of a link's options (see `offer_keyboard`)."""
    return offer_keyboard(request_id, Offer.of(options), extra_rows)


def offer_keyboard(
    request_id: uuid.UUID,
    offer: Offer,
    extra_rows: list[list[InlineKeyboardButton]] | None = None,
) -> InlineKeyboardMarkup:
    """One button per resolution with its estimated size, audio only, `extra_rows` (the
    playlist a video link also names), and cancel."""
    rows: list[list[InlineKeyboardButton]] = []
    video_buttons = [
        InlineKeyboardButton(
            text=f"{height}p · {format_size(offer.sizes.get(height))}",
            callback_data=ChoiceData(
                request_id=request_id, choice=Choice.VIDEO, height=height
            ).pack(),
        )
        for height in offer.heights
    ]
    rows.extend(video_buttons[index : index + 2] for index in range(0, len(video_buttons), 2))
    if offer.photos and not offer.heights:
        label = (
            _("Photo") if offer.photos == 1 else _("All {count} items").format(count=offer.photos)
        )
        rows.append(
            [
                InlineKeyboardButton(
                    text=f"📥 {label}",
                    callback_data=ChoiceData(request_id=request_id, choice=Choice.PHOTO).pack(),
                )
            ]
        )
    if offer.audio:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("🎵 Audio only · {size}").format(size=format_size(offer.audio_size)),
                    callback_data=ChoiceData(request_id=request_id, choice=Choice.AUDIO).pack(),
                )
            ]
        )
    if offer.subtitles:
        rows.append([subtitles_button(request_id, clip_texts.subtitles_button())])
    rows.extend(extra_rows or [])
    rows.append(
        [
            InlineKeyboardButton(
                text=_("✖ Cancel"),
                callback_data=ChoiceData(request_id=request_id, choice=Choice.CANCEL).pack(),
            )
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def clip_rows(
    clip_offer_id: uuid.UUID, options: MediaOptions, clip: Clip
) -> list[list[InlineKeyboardButton]]:
    """The choices of a clip, each marked ✂ (the offer's text says which range): one per
    resolution and audio only, with the clip's share of the whole's estimated size."""
    share = clip.length_s(options.duration_s) / options.duration_s if options.duration_s else None

    def size(whole: int | None) -> str:
        return format_size(int(whole * share) if whole and share else None)

    buttons = [
        InlineKeyboardButton(
            text=f"✂ {resolution.height}p · {size(resolution.estimated_bytes)}",
            callback_data=ChoiceData(
                request_id=clip_offer_id, choice=Choice.VIDEO, height=resolution.height
            ).pack(),
        )
        for resolution in options.resolutions
    ]
    if options.has_audio:
        buttons.append(
            InlineKeyboardButton(
                text=f"✂ 🎵 · {size(options.audio_estimated_bytes)}",
                callback_data=ChoiceData(request_id=clip_offer_id, choice=Choice.AUDIO).pack(),
            )
        )
    if options.has_subtitles:
        buttons.append(subtitles_button(clip_offer_id, "✂ 💬"))
    return [buttons[index : index + 2] for index in range(0, len(buttons), 2)]


def clip_only_keyboard(
    offer_id: uuid.UUID, clip_rows: list[list[InlineKeyboardButton]]
) -> InlineKeyboardMarkup:
    """The offer of a video over the duration limit: its clip's choices and ✖."""
    cancel = InlineKeyboardButton(
        text=_("✖ Cancel"),
        callback_data=ChoiceData(request_id=offer_id, choice=Choice.CANCEL).pack(),
    )
    return InlineKeyboardMarkup(inline_keyboard=[*clip_rows, [cancel]])


def subtitles_button(offer_id: uuid.UUID, text: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text,
        callback_data=ChoiceData(request_id=offer_id, choice=Choice.SUBTITLES).pack(),
    )


class PlaylistChoice(StrEnum):
    VIDEO = "v"
    AUDIO = "a"
    OPEN = "o"
    """Offer the playlist a video link also names, in a message of its own."""
    CANCEL = "x"


class PlaylistData(CallbackData, prefix="l"):
    """A playlist's button: a choice for all its items, its offer opened, or its ✖."""

    playlist_id: HexId
    choice: PlaylistChoice
    height: Count = 0


def playlist_keyboard(playlist_id: uuid.UUID) -> InlineKeyboardMarkup:
    """A playlist's offer: one row of heights and audio only, for all its items; cancel."""
    heights = [
        InlineKeyboardButton(
            text=f"{height}p",
            callback_data=PlaylistData(
                playlist_id=playlist_id, choice=PlaylistChoice.VIDEO, height=height
            ).pack(),
        )
        for height in PLAYLIST_HEIGHTS
    ]
    audio = InlineKeyboardButton(
        text=_("🎵 Audio only"),
        callback_data=PlaylistData(playlist_id=playlist_id, choice=PlaylistChoice.AUDIO).pack(),
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[heights, [audio], [_playlist_cancel_button(playlist_id)]]
    )


def whole_playlist_row(playlist_id: uuid.UUID, label: str) -> list[InlineKeyboardButton]:
    """The row under a video's offer that opens the offer of the playlist the link names."""
    data = PlaylistData(playlist_id=playlist_id, choice=PlaylistChoice.OPEN).pack()
    return [InlineKeyboardButton(text=label, callback_data=data)]


def playlist_cancel_keyboard(playlist_id: uuid.UUID) -> InlineKeyboardMarkup:
    """The one ✖ of a playlist on its way: it cancels every item not delivered yet."""
    return InlineKeyboardMarkup(inline_keyboard=[[_playlist_cancel_button(playlist_id)]])


def _playlist_cancel_button(playlist_id: uuid.UUID) -> InlineKeyboardButton:
    data = PlaylistData(playlist_id=playlist_id, choice=PlaylistChoice.CANCEL).pack()
    return InlineKeyboardButton(text=_("✖ Cancel"), callback_data=data)


class OtherChoicesData(CallbackData, prefix="m"):
    """ "⚙ Other choices" under a request its owner's default chose: the offer's keyboard
    again, for another choice."""

    request_id: HexId


def other_choices_keyboard(request_id: uuid.UUID) -> InlineKeyboardMarkup:
    """The one button under a request delivered by the owner's default (/settings)."""
    data = OtherChoicesData(request_id=request_id).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("⚙ Other choices"), callback_data=data)]]
    )


def cancel_keyboard(request_id: uuid.UUID) -> InlineKeyboardMarkup:
    """The single button shown while a request waits or runs."""
    data = ChoiceData(request_id=request_id, choice=Choice.CANCEL).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("✖ Cancel"), callback_data=data)]]
    )


class QueueCancelData(CallbackData, prefix="q"):
    """✖ on a line of /queue: cancel that request (its owner only)."""

    request_id: HexId


class HistoryAction(StrEnum):
    SEND = "s"
    PAGE = "p"


class HistoryData(CallbackData, prefix="h"):
    """A /history button: send a delivered file again (`request_id`), or show another
    page (`page`, no request)."""

    action: HistoryAction
    request_id: HexId | None = None
    page: Count = 0

    @model_validator(mode="after")
    def _request_for_send_only(self) -> Self:
        if (self.action is HistoryAction.SEND) != (self.request_id is not None):
            raise ValueError("a send names a request, a page turn none")
        return self


def queue_keyboard(request_ids: list[uuid.UUID]) -> InlineKeyboardMarkup:
    """A ✖ per request in flight, numbered as the list's lines."""
    buttons = [
        InlineKeyboardButton(
            text=f"✖ {number}", callback_data=QueueCancelData(request_id=request_id).pack()
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
            callback_data=HistoryData(action=HistoryAction.SEND, request_id=request_id).pack(),
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


def _supported_locale(value: str) -> str:
    if value not in SUPPORTED_LOCALES:
        raise ValueError("not a language the bot speaks")
    return value


class LanguageData(CallbackData, prefix="lang"):
    """A /language button: one of the languages the bot speaks."""

    locale: Annotated[str, AfterValidator(_supported_locale)]


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


class SettingsData(CallbackData, prefix="set"):
    """A /settings button of the user `user_id` (their Telegram id): a new default
    choice, or a new form of files; exactly one of the two."""

    user_id: TelegramId
    default: DefaultChoice | None = None
    form: DeliveryForm | None = None

    @model_validator(mode="after")
    def _one_setting(self) -> Self:
        if (self.default is None) == (self.form is None):
            raise ValueError("a settings button changes one setting")
        return self


def default_label(default: DefaultChoice) -> str:
    """A default choice as the user reads it."""
    if default is DefaultChoice.ASK:
        return _("Always ask")
    if default is DefaultChoice.AUDIO:
        return _("🎵 Audio only")
    return _("Best up to {height}p").format(height=default.max_height)


def form_label(form: DeliveryForm) -> str:
    """A form of files as the user reads it."""
    return _("▶ As video") if form is DeliveryForm.MEDIA else _("📄 As a file")


def settings_keyboard(user_id: int, current: Preferences) -> InlineKeyboardMarkup:
    """The /settings buttons of the user with Telegram id `user_id`, the current values
    marked ✓: ask or audio, the heights, then the forms of files."""

    def button(text: str, chosen: bool, data: SettingsData) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=f"✓ {text}" if chosen else text, callback_data=data.pack())

    def default_button(default: DefaultChoice, text: str) -> InlineKeyboardButton:
        data = SettingsData(user_id=user_id, default=default)
        return button(text, current.default is default, data)

    heights = [choice for choice in DefaultChoice if choice.max_height is not None]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                default_button(DefaultChoice.ASK, default_label(DefaultChoice.ASK)),
                default_button(DefaultChoice.AUDIO, default_label(DefaultChoice.AUDIO)),
            ],
            [default_button(choice, f"≤{choice.max_height}p") for choice in heights],
            [
                button(
                    form_label(form), current.form is form, SettingsData(user_id=user_id, form=form)
                )
                for form in DeliveryForm
            ],
        ]
    )
