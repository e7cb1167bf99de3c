"""Telegram's refusals in words for users, and which of them mean "stop writing here".

Telegram's own descriptions ("Bad Request: VIDEO_CONTENT_TYPE_INVALID", "Forbidden: bot
was blocked by the user") are for the log; users get `describe`'s short sentence,
in the current language (the constants are the English msgids).
"""

from __future__ import annotations

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)

from mediabot.i18n import N_, _

FILE_REFUSED = N_("Telegram could not take this file.")
TOO_LARGE = N_("The file is too large for Telegram.")
TOO_LONG = N_("The text was too long for Telegram.")
SLOW_DOWN = N_("Telegram asked me to slow down; please try again in a few minutes.")
UNREACHABLE = N_("Telegram is not reachable right now; please try again later.")
CHAT_CLOSED = N_("Telegram does not let me write to this chat.")
GONE = N_("The message is no longer there.")
REFUSED = N_("Telegram refused this request.")

_FILE_MARKERS = (
    "content_type_invalid",
    "wrong file",
    "wrong remote file",
    "file reference",
    "file_parts_invalid",
    "image_process_failed",
    "photo_invalid",
    "photo_save_file_invalid",
    "failed to get http url content",
    "wrong type of the web page content",
    "media_empty",
    "document_invalid",
    "file is too big",
    "file must be non-empty",
    "video_file_invalid",
)
_TOO_LONG_MARKERS = ("too long", "message_too_long", "caption_too_long", "entities_too_long")
_GONE_MARKERS = ("message to edit not found", "message to delete not found", "message not found")
_UNREACHABLE_CHAT_MARKERS = (
    "chat not found",
    "user is deactivated",
    "peer_id_invalid",
    "bot was kicked",
    "bot was blocked",
    "not enough rights to send",
    "have no rights to send",
    "chat_write_forbidden",
    "group chat was deactivated",
)


def describe(exc: TelegramAPIError) -> str:
    """One short sentence a user can read about `exc`; never Telegram's own text."""
    return _(_describe(exc))


def _describe(exc: TelegramAPIError) -> str:
    text = exc.message.lower()
    if isinstance(exc, TelegramEntityTooLarge) or "file is too big" in text:
        return TOO_LARGE
    if isinstance(exc, TelegramRetryAfter):
        return SLOW_DOWN
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return UNREACHABLE
    if chat_unreachable(exc):
        return CHAT_CLOSED
    if any(marker in text for marker in _FILE_MARKERS):
        return FILE_REFUSED
    if any(marker in text for marker in _TOO_LONG_MARKERS):
        return TOO_LONG
    if any(marker in text for marker in _GONE_MARKERS):
        return GONE
    return REFUSED


def chat_unreachable(exc: BaseException) -> bool:
    """Whether nothing can be sent to the chat any more: blocked, kicked, deactivated, gone.

    True for every 403 (blocked by the user, kicked from the group, user deactivated,
    no right to write), for a group that became a supergroup, and for the 400s that say
    the chat does not exist; sending there again is pointless until the user writes.
    """
    if isinstance(exc, TelegramForbiddenError | TelegramMigrateToChat):
        return True
    if isinstance(exc, TelegramBadRequest | TelegramNotFound):
        text = exc.message.lower()
        return any(marker in text for marker in _UNREACHABLE_CHAT_MARKERS)
    return False
