"""The worker bench: a real `Pipeline` on a migrated database, the fake Bot API, loopback media.

Requests are made the way the bot makes them (a user, a chat, a `files` row in `queued`
with a status message in the chat), so a test drives the worker only through its seams:
the database, the queue and Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mediabot.app.worker_ports import worker_ports
from mediabot.db.models import RequestRow
from mediabot.db.repositories import (
    ChatRepository,
    ProviderRepository,
    RequestRows,
    TelegramChat,
    TelegramUser,
    UserRepository,
)
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.downloaders.options import DownloadOptions
from mediabot.telegram.pacing import Pacer, Rate
from mediabot.worker.pipeline import Pipeline, PipelineParts
from tests.support.fake_telegram import FakeTelegram

_ids = iter(range(810_000_001, 820_000_000))


def new_telegram_id() -> int:
    return next(_ids)


@dataclass
class WorkerBench:
    """A pipeline and what it talks to; `request` makes a request as the bot would."""

    sessions: async_sessionmaker[AsyncSession]
    bot: Bot
    pacer: Pacer
    telegram: FakeTelegram
    work_dir: Path
    lease: timedelta = timedelta(seconds=1)
    upload_limit_bytes: int = 50 * 1024 * 1024
    pipelines: list[Pipeline] = field(default_factory=list)

    def pipeline(self, owner: str = "worker-1", **overrides: Any) -> Pipeline:
        upload_limit_bytes = overrides.pop("upload_limit_bytes", self.upload_limit_bytes)
        lease = overrides.pop("lease", self.lease)
        ports = worker_ports(
            sessions=self.sessions,
            bot=self.bot,
            pacer=self.pacer,
            download_options=DownloadOptions(allow_private_urls=True),
            upload_limit_bytes=upload_limit_bytes,
            owner=owner,
            lease=lease,
            max_running_per_user=overrides.pop("max_running_per_user", 1),
            status_markup=lambda _request_id: None,
            delivered_markup=overrides.pop("delivered_markup", lambda _request_id: None),
        )
        parts = PipelineParts(
            bot=self.bot,
            work_dir=self.work_dir,
            upload_limit_bytes=upload_limit_bytes,
            lease=lease,
            **overrides,
        )
        return Pipeline(parts, ports)

    async def request(
        self,
        url: str,
        *,
        kind: MediaKind = MediaKind.AUDIO,
        resolution: int | None = None,
        user: int | None = None,
        chat: int | None = None,
        state: RequestState = RequestState.QUEUED,
        with_status: bool = True,
    ) -> uuid.UUID:
        """A chosen request in `chat` (by default a new user's private chat), with its status."""
        user = user if user is not None else new_telegram_id()
        chat = chat if chat is not None else user
        status_id = (
            (await self.bot.send_message(chat, "⏳ Queued")).message_id if with_status else None
        )
        async with self.sessions.begin() as session:
            user_id = await UserRepository(session).upsert(TelegramUser(user, "Ann"))
            chat_id = await ChatRepository(session).upsert(TelegramChat(chat, "private"), user_id)
            provider_id = await ProviderRepository(session).id_of(Provider.GENERIC)
            file = await RequestRows(session).add(
                RequestRow(
                    chat_id=chat_id,
                    provider_id=provider_id,
                    requested_by_id=user_id,
                    request_url=url,
                    media_key=f"generic:{url}",
                    kind=kind,
                    resolution=resolution,
                    state=RequestState.OFFERED,
                    status_message_id=status_id,
                )
            )
            await RequestRows(session).set_state(file.id, state)
        return file.id

    async def file(self, request_id: uuid.UUID) -> RequestRow:
        async with self.sessions() as session:
            file = await RequestRows(session).get_with_chat(request_id)
        assert file is not None
        return file

    def leftovers(self) -> list[Path]:
        """Every file and folder under the work dir (none after any ending)."""
        return sorted(self.work_dir.rglob("*")) if self.work_dir.exists() else []

    def status_texts(self, chat_id: int) -> list[str]:
        """The texts the status message was edited to, in order."""
        return [
            call.params.get("text", "")
            for call in self.telegram.calls_of("editMessageText")
            if call.params.get("chat_id") == str(chat_id)
        ]


def fast_pacer() -> Pacer:
    """Telegram's pacing would make each test wait seconds; tests/telegram checks it."""
    return Pacer(per_chat=Rate(1000.0, burst=100), per_group=Rate(1000.0, burst=100))


async def until_state(
    bench: WorkerBench, request_id: uuid.UUID, state: RequestState, timeout_s: float = 30
) -> None:
    """Wait for a request to reach `state`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (await bench.file(request_id)).state is not state:
        assert loop.time() < deadline, f"request never reached {state}"
        await asyncio.sleep(0.05)


async def until_logged(caplog: pytest.LogCaptureFixture, text: str, timeout_s: float = 30) -> None:
    """Wait for a mediabot log line with `text` (INFO and up)."""
    caplog.set_level(logging.INFO, logger="mediabot")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not any(text in record.getMessage() for record in caplog.records):
        assert loop.time() < deadline, f"{text!r} never logged"
        await asyncio.sleep(0.01)
