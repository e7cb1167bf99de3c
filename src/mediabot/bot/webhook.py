"""Webhook mode: Telegram posts each update to `WEBHOOK_URL`, and any number of bot
processes behind a load balancer (Caddy in the Compose `webhook` profile) serve one token.

A 2xx answer tells Telegram to forget the update; any other answer, a broken connection or
no answer within about 60 s makes it post the update again (at once, then after 2, 4, 8 …
up to 60-120 s, or after the answer's `Retry-After`), maybe to another process. So a post
is answered only once its update is handled, never before (aiogram's
`handle_in_background=True` answers first, and a process dying mid-update would lose it):

- 200: handled, or handled before (its claim says so, `bot.claims`);
- 503 with `Retry-After`: another delivery of it holds a live claim; Telegram comes back
  when that claim's lease may have run out, so a holder that died is taken over;
- 500: handling raised (logged); the update is marked handled, so the next delivery is
  acknowledged;
- 401: the secret token header is wrong (not Telegram); 400: not an update.

Telegram delivers one chat's updates in order, the next only once the one before was
answered, so a chat's updates are never handled side by side. Every process calls
`setWebhook` at start with the same parameters: Telegram answers "Webhook is already set"
and keeps the pending updates; none ever calls `deleteWebhook`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from pydantic import ValidationError

from mediabot.bot.claims import UpdateBusyError

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - the header's name
MAX_CONNECTIONS = 100
"""Posts Telegram may have open at once (its most; 40 by default). Each is held until its
update is handled, so this bounds how many updates all processes handle side by side."""
SET_WEBHOOK_TRIES = 5
"""`setWebhook` calls made at start before giving up: Telegram ends a call with 409 when
another process's call for the same bot arrives while it is under way."""
SHUTDOWN_TIMEOUT_S = 5.0
"""How long posts under way may finish when the process stops; an update cut off is posted
again by Telegram and taken over once its claim's lease runs out."""


class WebhookHandler:
    """The aiohttp handler of Telegram's posts (see the module for its answers)."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str) -> None:
        self._dispatcher = dispatcher
        self._bot = bot
        self._secret = secret_token

    async def handle(self, request: web.Request) -> web.Response:
        if not secrets.compare_digest(request.headers.get(SECRET_HEADER, ""), self._secret):
            logger.warning("webhook post from %s refused: wrong secret token", request.remote)
            return web.Response(status=401, text="Unauthorized")
        try:
            update = Update.model_validate(await request.json(), context={"bot": self._bot})
        except (ValueError, ValidationError) as exc:
            logger.warning("webhook post from %s refused: not an update (%s)", request.remote, exc)
            return web.Response(status=400, text="Bad Request: not an update")
        try:
            result = await self._dispatcher.feed_update(self._bot, update)
        except UpdateBusyError as busy:
            logger.info(
                "update %d: another delivery holds it; Telegram is asked to come back in %d s",
                update.update_id,
                busy.retry_after,
            )
            return web.Response(
                status=503, text="Busy", headers={"Retry-After": str(busy.retry_after)}
            )
        except Exception:
            logger.exception("update %d: handling failed", update.update_id)
            return web.Response(status=500, text="Internal Server Error")
        if isinstance(result, TelegramMethod):  # a handler's answer, sent as polling does
            await self._dispatcher.silent_call_request(self._bot, result)
        return web.json_response({})


async def serve_webhook(
    dispatcher: Dispatcher, bot: Bot, *, url: str, listen: str, secret_token: str
) -> None:
    """Serve Telegram's posts on `listen` (`host:port`) and register `url` with Telegram;
    runs until cancelled, then lets the posts under way finish for a few seconds."""
    app = web.Application()
    handler = WebhookHandler(dispatcher, bot, secret_token)
    app.router.add_post(urlsplit(url).path or "/", handler.handle)
    setup_application(app, dispatcher, bot=bot)
    host, _, port = listen.rpartition(":")
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, host or "0.0.0.0", int(port)).start()  # noqa: S104
        await _set_webhook(bot, url, secret_token, dispatcher.resolve_used_update_types())
        logger.info("webhook server listening on %s", listen)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def _set_webhook(bot: Bot, url: str, secret_token: str, allowed: list[str]) -> None:
    """Register the webhook, keeping the updates Telegram holds for the bot."""
    for attempt in range(1, SET_WEBHOOK_TRIES + 1):
        try:
            await bot.set_webhook(
                url,
                secret_token=secret_token,
                allowed_updates=allowed,
                max_connections=MAX_CONNECTIONS,
                drop_pending_updates=False,
            )
            return
        except TelegramConflictError as exc:
            if attempt == SET_WEBHOOK_TRIES:
                raise
            logger.info(
                "setWebhook: %s; asking again (%d of %d)",
                exc.message,
                attempt + 1,
                SET_WEBHOOK_TRIES,
            )
            await asyncio.sleep(1.0)
