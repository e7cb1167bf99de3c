"""Fake Telegram fixtures: a loopback Bot API server and an aiogram bot wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from tests.support.fake_telegram import FakeTelegram


class _LoopbackSession(AiohttpSession):
    """aiogram's session without the 250 ms it waits on close for TLS connections to drain:
    there are none on loopback, and every test that uses a bot would pay it."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


@pytest.fixture(scope="session")
def fake_telegram(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeTelegram]:
    """The session's fake Bot API server (state shared between tests: prefer `telegram`)."""
    with FakeTelegram(tmp_path_factory.mktemp("telegram")) as server:
        yield server


@pytest.fixture
def telegram(fake_telegram: FakeTelegram) -> FakeTelegram:
    """The fake Bot API server, reset: no calls, updates, messages or files; default knobs."""
    fake_telegram.reset()
    return fake_telegram


def loopback_session(telegram: FakeTelegram) -> AiohttpSession:
    """A session on `telegram`'s current mode, without middlewares (add your own)."""
    api = TelegramAPIServer.from_base(telegram.base_url, is_local=telegram.local_mode)
    return _LoopbackSession(api=api)


@pytest.fixture
async def telegram_bot(telegram: FakeTelegram) -> AsyncIterator[Bot]:
    """An aiogram `Bot` talking to `telegram` (cloud mode; build your own for local mode)."""
    session = loopback_session(telegram)
    bot = Bot(token=telegram.token, session=session)
    yield bot
    await session.close()
