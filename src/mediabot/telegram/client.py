"""The aiogram `Bot` mediabot talks to Telegram with, built once per process."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import FSInputFile, InputFile
from aiohttp import FormData

from mediabot import metrics
from mediabot.config import Settings
from mediabot.telegram.middlewares import PacingMiddleware, RetryMiddleware
from mediabot.telegram.pacing import Pacer
from mediabot.telegram.uploads import StreamedFile

if TYPE_CHECKING:
    from aiogram.client.session.middlewares.base import RequestMiddlewareType

logger = logging.getLogger(__name__)

BASE_UPLOAD_TIMEOUT_S = 60.0
UPLOAD_BYTES_PER_S = 1024 * 1024
"""The slowest upload speed a request is given time for (1 MB/s)."""


def upload_timeout(method: TelegramMethod[TelegramType]) -> float | None:
    """Seconds an upload request may take: 60 s plus one second per MB it carries.

    `None` for a request that uploads no local file (the session default applies).
    """
    total = upload_bytes(method)
    if total == 0:
        return None
    return BASE_UPLOAD_TIMEOUT_S + total / UPLOAD_BYTES_PER_S


def upload_bytes(method: TelegramMethod[TelegramType]) -> int:
    """Bytes of the local files `method` uploads (0: none)."""
    return sum(_file_size(item) for item in _input_files(method))


def _input_files(method: TelegramMethod[TelegramType]) -> list[FSInputFile | StreamedFile]:
    found: list[FSInputFile | StreamedFile] = []
    for name in type(method).model_fields:
        value = getattr(method, name, None)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, FSInputFile | StreamedFile):
                found.append(item)
            for attribute in ("media", "thumbnail"):
                inner = getattr(item, attribute, None)
                if isinstance(inner, FSInputFile | StreamedFile):
                    found.append(inner)
    return found


def _file_size(item: FSInputFile | StreamedFile) -> int:
    if isinstance(item, StreamedFile):
        return item.size
    try:
        return Path(item.path).stat().st_size
    except OSError:
        return 0


_RESPONSE_MODELS: dict[type[TelegramMethod[Any]], type[Response[Any]]] = {}
"""A strong reference to each `Response[...]` model aiogram reads Telegram's answers with.

pydantic caches a parametrised generic model only weakly: with nothing else holding it, the
next garbage collection drops it, and aiogram built it again for nearly every answer (1-4 ms
of CPU each; a tenth of a worker's CPU in a burst of cached resends). Held here, each is
built once per process."""


def _keep_response_model(method: TelegramMethod[TelegramType]) -> None:
    kind = type(method)
    if kind not in _RESPONSE_MODELS:
        _RESPONSE_MODELS[kind] = Response[method.__returning__]  # type: ignore[name-defined]


class DeliverySession(AiohttpSession):
    """An aiohttp session whose upload requests get a timeout sized for their files.

    Every request that really reaches the server passes here, so this is where uploads
    are measured and Telegram's refusals counted (see `mediabot.metrics`).
    """

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData:
        """aiogram's form, with a `StreamedFile` sent as a part of known size: the request
        then has a Content-Length, as an upload of a file on disk has."""
        form = FormData(quote_fields=False)
        files: dict[str, InputFile] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if prepared:
                form.add_field(key, prepared)
        for key, file in files.items():
            body = file.payload(bot) if isinstance(file, StreamedFile) else file.read(bot)
            form.add_field(key, body, filename=file.filename or key)
        return form

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        size = upload_bytes(method)
        if timeout is None and size:
            # aiohttp takes any number of seconds; aiogram's annotation says int
            timeout = cast(int, BASE_UPLOAD_TIMEOUT_S + size / UPLOAD_BYTES_PER_S)
        _keep_response_model(method)
        name = method.__api_method__
        started = time.monotonic()
        try:
            result = await super().make_request(bot, method, timeout)
        except TelegramAPIError as exc:
            metrics.TELEGRAM_ERRORS.labels(name, _error_code(exc)).inc()
            raise
        if size:
            metrics.UPLOAD_SECONDS.labels(name).observe(time.monotonic() - started)
            metrics.UPLOAD_BYTES.labels(name).observe(size)
        return result


_ERROR_CODES: tuple[tuple[type[TelegramAPIError], str], ...] = (
    (TelegramRetryAfter, "429"),
    (TelegramEntityTooLarge, "413"),
    (TelegramBadRequest, "400"),
    (TelegramUnauthorizedError, "401"),
    (TelegramForbiddenError, "403"),
    (TelegramNotFound, "404"),
    (TelegramConflictError, "409"),
    (TelegramServerError, "5xx"),
    (TelegramNetworkError, "network"),
)


def _error_code(exc: TelegramAPIError) -> str:
    for error_type, code in _ERROR_CODES:
        if isinstance(exc, error_type):
            return code
    return "other"


def create_session(
    settings: Settings, *, pacer: Pacer | None = None, max_flood_wait_s: float | None = None
) -> DeliverySession:
    """A session for `settings.telegram_api_url`, with pacing (outer) and retries (inner).

    Pacing wraps retries, so a repeated request does not take a second slot. A flood
    wait is sat out as long as Telegram says unless `max_flood_wait_s` caps the total;
    interactive answers bound theirs with `telegram.flood.answer_deadline` instead.
    """
    api = TelegramAPIServer.from_base(
        settings.telegram_api_url, is_local=settings.telegram_api_local
    )
    session = DeliverySession(api=api)
    pacer = pacer or Pacer()
    # The first is the outermost: every retry after a 429 goes through the pacer again, so
    # it waits for a slot like any message instead of firing the moment its wait ends.
    middlewares: list[RequestMiddlewareType] = [
        RetryMiddleware(pacer=pacer, max_flood_wait_s=max_flood_wait_s),
        PacingMiddleware(pacer),
    ]
    for middleware in middlewares:
        session.middleware(middleware)
    return session


def ensure_pacing(bot: Bot, pacer: Pacer) -> None:
    """Make every send through `bot` wait for `pacer`, unless its session already paces.

    A bot from `create_bot` paces already (with the pacer given there); a bot built any
    other way gets a `PacingMiddleware` added, so senders never post unpaced.
    """
    if any(isinstance(middleware, PacingMiddleware) for middleware in bot.session.middleware):
        return
    bot.session.middleware(PacingMiddleware(pacer))


def create_bot(
    settings: Settings, *, pacer: Pacer | None = None, max_flood_wait_s: float | None = None
) -> Bot:
    """The bot for `settings`, on a `DeliverySession`; raises `ConfigError` without a token.

    Pass the process's one `Pacer` so progress edits (`Pacer.has_room`) and sends share
    the same budget. `max_flood_wait_s` caps the flood waits of one request (None:
    wait as long as Telegram says, which a worker holding a request wants). The token
    is never logged.
    """
    session = create_session(settings, pacer=pacer, max_flood_wait_s=max_flood_wait_s)
    bot = Bot(token=settings.require_token(), session=session)
    logger.info(
        "Telegram client ready: api=%s local=%s upload limit=%d MB",
        settings.telegram_api_url,
        settings.telegram_api_local,
        settings.upload_limit_bytes // (1024 * 1024),
    )
    return bot
