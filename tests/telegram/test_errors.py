"""Telegram's refusals in words for users; which of them mean the chat is closed."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from mediabot.telegram import errors

METHOD = SendMessage(chat_id=1, text="hi")


@pytest.mark.parametrize(
    ("exc", "sentence"),
    [
        (
            TelegramBadRequest(METHOD, "Bad Request: VIDEO_CONTENT_TYPE_INVALID"),
            errors.FILE_REFUSED,
        ),
        (
            TelegramBadRequest(METHOD, "Bad Request: wrong file identifier/HTTP URL specified"),
            errors.FILE_REFUSED,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: IMAGE_PROCESS_FAILED"), errors.FILE_REFUSED),
        (TelegramEntityTooLarge(METHOD, "Request Entity Too Large"), errors.TOO_LARGE),
        (TelegramBadRequest(METHOD, "Bad Request: file is too big"), errors.TOO_LARGE),
        (TelegramBadRequest(METHOD, "Bad Request: message is too long"), errors.TOO_LONG),
        (TelegramBadRequest(METHOD, "Bad Request: message to edit not found"), errors.GONE),
        (
            TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"),
            errors.CHAT_CLOSED,
        ),
        (TelegramBadRequest(METHOD, "Bad Request: chat not found"), errors.CHAT_CLOSED),
        (TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=30), errors.SLOW_DOWN),
        (TelegramServerError(METHOD, "Internal Server Error"), errors.UNREACHABLE),
        (TelegramNetworkError(METHOD, "connection reset"), errors.UNREACHABLE),
        (TelegramBadRequest(METHOD, "Bad Request: SOMETHING_NEW"), errors.REFUSED),
        (TelegramAPIError(METHOD, "I'm a teapot"), errors.REFUSED),
    ],
)
def test_describe_gives_a_sentence_never_telegrams_text(
    exc: TelegramAPIError, sentence: str
) -> None:
    described = errors.describe(exc)
    assert described == sentence
    assert exc.message not in described
    assert "Bad Request" not in described and "Forbidden" not in described


@pytest.mark.parametrize(
    "description",
    [
        "Forbidden: bot was blocked by the user",
        "Forbidden: bot was kicked from the group chat",
        "Forbidden: user is deactivated",
        "Forbidden: bot can't initiate conversation with a user",
    ],
)
def test_every_403_means_the_chat_is_unreachable(description: str) -> None:
    assert errors.chat_unreachable(TelegramForbiddenError(METHOD, description))


def test_chat_not_found_is_unreachable_but_other_400s_are_not() -> None:
    assert errors.chat_unreachable(TelegramBadRequest(METHOD, "Bad Request: chat not found"))
    assert not errors.chat_unreachable(
        TelegramBadRequest(METHOD, "Bad Request: message to edit not found")
    )
    assert not errors.chat_unreachable(TelegramServerError(METHOD, "Bad Gateway"))
    assert not errors.chat_unreachable(ValueError("x"))
