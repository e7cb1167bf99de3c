"""A small Bot API double on loopback for the sender tests.

It answers the send methods the senders use, keeps every uploaded file so tests can
ffprobe it, refuses uploads over `upload_limit_bytes` with 413, refuses unknown file ids
with 400, and can fail the next calls of a method with any error code.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from aiohttp import BodyPartReader, web

from mediabot.config import load_settings
from mediabot.telegram.client import create_bot
from mediabot.telegram.pacing import Pacer, Rate

TOKEN = "42:sender-tests-token"
_KINDS = {"video": "video", "audio": "audio", "photo": "photo", "document": "document"}


@dataclass
class Upload:
    field: str
    filename: str
    size: int
    path: Path


@dataclass
class ApiCall:
    method: str
    params: dict[str, str]
    files: dict[str, Upload] = field(default_factory=dict)
    status: int = 0

    def file_for(self, param: str) -> Upload | None:
        """The upload a parameter points at ("attach://<key>"), if it points at one."""
        value = self.params.get(param, "")
        return self.files.get(value.removeprefix("attach://")) if value else None


@dataclass
class _Failure:
    method: str
    error_code: int
    retry_after: int | None
    description: str
    count: int


class BotApiDouble:
    """The fake server: `calls`, `fail_next`, `upload_limit_bytes`, `uploaded_path`."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.calls: list[ApiCall] = []
        self.upload_limit_bytes = 1 << 40
        self.base_url = ""
        self._failures: list[_Failure] = []
        self._files: dict[str, Path] = {}
        self._message_ids = itertools.count(1000)
        self._file_numbers = itertools.count(1)

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int | None = 1,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        text = description or {
            429: f"Too Many Requests: retry after {retry_after}",
            413: "Request Entity Too Large",
            400: "Bad Request: wrong file identifier/HTTP URL specified",
        }.get(error_code, "Internal Server Error")
        self._failures.append(_Failure(method, error_code, retry_after, text, count))

    def clear_failures(self) -> None:
        self._failures.clear()

    def know_file(self, file_id: str, path: Path) -> None:
        """Make `file_id` valid, as if it had been uploaded earlier."""
        self._files[file_id] = path

    def calls_of(self, *methods: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method in methods]

    def accepted(self, *methods: str) -> list[ApiCall]:
        return [call for call in self.calls_of(*methods) if call.status == 200]

    def uploaded_path(self, file_id: str) -> Path:
        return self._files[file_id]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = ApiCall(method=method, params={})
        self.calls.append(call)
        total = 0
        if not request.content_type.startswith("multipart/"):
            form = await request.post()
            call.params.update({key: str(value) for key, value in form.items()})
            return self._answer(call, method, total)
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename:
                number = next(self._file_numbers)
                path = self.store / f"upload-{number}-{part.filename}"
                size = 0
                with path.open("wb") as out:
                    while chunk := await part.read_chunk():
                        size += len(chunk)
                        out.write(chunk)
                call.files[part.name] = Upload(part.name, part.filename, size, path)
                total += size
            else:
                call.params[part.name] = (await part.read()).decode()
        return self._answer(call, method, total)

    def _answer(self, call: ApiCall, method: str, total: int) -> web.Response:
        failure = self._take_failure(method)
        if failure is not None:
            return self._error(call, failure.error_code, failure.description, failure.retry_after)
        if total > self.upload_limit_bytes:
            return self._error(call, 413, "Request Entity Too Large", None)
        try:
            result = self._result(call)
        except LookupError as exc:
            return self._error(call, 400, f"Bad Request: {exc.args[0]}", None)
        call.status = 200
        return web.json_response({"ok": True, "result": result})

    def _take_failure(self, method: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.count > 0:
                failure.count -= 1
                return failure
        return None

    def _error(
        self, call: ApiCall, code: int, description: str, retry_after: int | None
    ) -> web.Response:
        call.status = code
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if retry_after is not None and code == 429:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=code)

    def _result(self, call: ApiCall) -> Any:
        chat_id = int(call.params["chat_id"])
        if call.method == "sendMediaGroup":
            media = json.loads(call.params["media"])
            return [self._message(chat_id, item["type"], item["media"], call) for item in media]
        kind = call.method.removeprefix("send").lower()
        return self._message(chat_id, kind, call.params.get(kind) or f"attach://{kind}", call)

    def _message(self, chat_id: int, kind: str, reference: str, call: ApiCall) -> dict[str, Any]:
        path = self._resolve(reference, call)
        file_id = f"file-{next(self._file_numbers)}"
        self._files[file_id] = path
        media = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": 1}
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
        }
        if kind == "photo":
            message["photo"] = [{**media, "width": 1, "height": 1}]
        elif kind == "video":
            message["video"] = {**media, "width": 1, "height": 1, "duration": 1}
        elif kind == "audio":
            message["audio"] = {**media, "duration": 1}
        else:
            message[_KINDS.get(kind, "document")] = media
        return message

    def _resolve(self, reference: str, call: ApiCall) -> Path:
        if reference.startswith("attach://"):
            return call.files[reference.removeprefix("attach://")].path
        if reference.startswith("file://"):
            return Path(reference.removeprefix("file://"))
        if reference in self._files:
            return self._files[reference]
        if reference in call.files:
            return call.files[reference].path
        raise LookupError("wrong file identifier/HTTP URL specified")


@pytest.fixture
async def bot_api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BotApiDouble]:
    double = BotApiDouble(tmp_path_factory.mktemp("bot-api"))
    app = web.Application(client_max_size=1 << 30)
    app.router.add_post("/bot{token}/{method}", double.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    double.base_url = f"http://127.0.0.1:{port}"
    yield double
    await runner.cleanup()


def fast_pacer() -> Pacer:
    """Telegram's pacing would make each test wait seconds; the tests check it elsewhere."""
    return Pacer(per_chat=Rate(1000.0, burst=100), per_group=Rate(1000.0, burst=100))


async def _bot(bot_api: BotApiDouble, *, local: bool) -> Bot:
    settings = load_settings(
        bot_token=TOKEN, telegram_api_url=bot_api.base_url, telegram_api_local=local
    )
    return create_bot(settings, pacer=fast_pacer())


@pytest.fixture
async def bot(bot_api: BotApiDouble) -> AsyncIterator[Bot]:
    instance = await _bot(bot_api, local=False)
    yield instance
    await instance.session.close()


@pytest.fixture
async def local_bot(bot_api: BotApiDouble) -> AsyncIterator[Bot]:
    instance = await _bot(bot_api, local=True)
    yield instance
    await instance.session.close()
