"""Sender fixtures: mediabot's own bot (`create_bot`) talking to the bench's fake Bot API.

The senders rely on the session `create_bot` builds (retries on 429 and 5xx, upload
timeouts, pacing), so the tests use that bot rather than the bench's plain `telegram_bot`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from mediabot.config import load_settings
from mediabot.telegram.client import create_bot
from mediabot.telegram.pacing import Pacer, Rate
from tests.support.fake_telegram import ApiCall, FakeTelegram


def fast_pacer() -> Pacer:
    """Telegram's pacing would make each test wait seconds; tests/telegram checks it."""
    return Pacer(per_chat=Rate(1000.0, burst=100), per_group=Rate(1000.0, burst=100))


def accepted(telegram: FakeTelegram, method: str) -> list[ApiCall]:
    """The calls of `method` that Telegram answered with "ok", oldest first."""
    return [call for call in telegram.calls_of(method) if call.ok]


async def _bot(telegram: FakeTelegram, *, local: bool) -> AsyncIterator[Bot]:
    telegram.local_mode = local
    settings = load_settings(
        bot_token=telegram.token,
        telegram_api_url=telegram.base_url,
        telegram_api_local=local,
    )
    bot = create_bot(settings, pacer=fast_pacer())
    yield bot
    # `session.close()` would then wait 250 ms for TLS connections to drain; there are none
    # on loopback, so close the aiohttp client session it holds directly.
    assert isinstance(bot.session, AiohttpSession)
    client = await bot.session.create_session()
    await client.close()


@pytest.fixture
async def bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """mediabot's bot on the fake cloud Bot API (50 MB uploads, no `file://`)."""
    async for instance in _bot(telegram, local=False):
        yield instance


@pytest.fixture
async def local_bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """mediabot's bot on the fake in local mode (`file://` paths accepted)."""
    async for instance in _bot(telegram, local=True):
        yield instance


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty folder for a sender's parts, apart from the media a test puts in `tmp_path`:
    what is left in it after a delivery is what the sender failed to clean up."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder
