"""A fake Telegram Bot API server on loopback, for tests.

`FakeTelegram` answers `/bot<token>/<method>` and `/file/bot<token>/<path>` the way the real Bot
API does (JSON envelopes, error codes and descriptions, `retry_after`), so aiogram talks to it
through `AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url, is_local=...))` and the
bot under test cannot tell the difference. It runs an aiohttp server with its own event loop in
its own thread, so it serves the test's event loop, worker threads and subprocesses alike.

What it models, because the bot's correctness depends on it:
- uploads arrive as multipart parts, are streamed to disk (never held in memory), and get a new
  `file_id`; a known `file_id` is reused without an upload; an unknown one is a 400;
  `file:///abs/path` is accepted in local mode only; a part over the upload limit is a 413;
- messages get per-chat `message_id`s and are kept as currently edited; editing to the same
  content is "message is not modified"; HTML and MarkdownV2 are parsed well enough to refuse
  what Telegram refuses; text, caption and callback-data limits are enforced;
- long polling returns as soon as an update is injected; a second poller ends the first with
  409, like Telegram; updates are dropped only once confirmed by `offset`;
- flood control: `fail_next()` for exact scenarios, and an optional rate limiter;
- webhooks (`deliver_to_webhook()`): updates posted to the URL the bot set, one chat's in order,
  answered 2xx or posted again (at once, then after 2, 4, 8 … s, or the answer's
  `Retry-After`), as Telegram's Bot API server does; some posted twice or their answer
  lost on purpose.

Every test-facing method is thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import mimetypes
import os
import re
import secrets
import shutil
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import BodyPartReader, ClientError, ClientSession, ClientTimeout, TCPConnector, web

BOT_ID = 7000000001


def new_token() -> str:
    """A token of the test bot that no other fake server accepts: a process left over from
    another test session (or module) that polls this server's port gets 401, never its updates."""
    return f"{BOT_ID}:AAFake{secrets.token_urlsafe(24)}"


CLOUD_UPLOAD_LIMIT = 50 * 1024 * 1024
"""Bytes a bot may upload per file to the cloud Bot API."""
LOCAL_UPLOAD_LIMIT = 2000 * 1024 * 1024
"""Bytes a bot may upload per file to a local Bot API server."""
CLOUD_DOWNLOAD_LIMIT = 20 * 1024 * 1024
"""Bytes `getFile` serves from the cloud Bot API."""
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
THUMBNAIL_MAX_BYTES = 200 * 1024
RATE_GLOBAL_PER_SECOND = 30
RATE_PRIVATE_PER_SECOND = 1.0
RATE_GROUP_PER_MINUTE = 20

WRONG_FILE_ID = "Bad Request: wrong file identifier/HTTP URL specified"
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
INLINE_ANSWER_WINDOW_S = 10.0
"""How long Telegram waits for the answer to an inline query."""
MAX_INLINE_RESULTS = 50
MAX_RESULT_ID_BYTES = 64
_CACHED_RESULTS = {
    "video": ("video_file_id", "video"),
    "audio": ("audio_file_id", "audio"),
    "document": ("document_file_id", "document"),
    "photo": ("photo_file_id", "photo"),
}
"""Cached inline results: type -> (its file id field, the media kind of the file)."""
_FILE_ID_PREFIXES = {"video": "BAAC", "audio": "CQAC", "photo": "AgAC"}
"""How the file ids of each kind begin (a document takes a file of any kind)."""
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

_RATE_LIMITED_PREFIXES = ("send", "copy", "forward", "editmessage")
_UNLIMITED = frozenset({"sendchataction"})
_CHUNK = 256 * 1024
_SMALL_BODY = 64 * 1024
_URL_IN_TEXT = re.compile(
    r"(?:https?://[^\s<>\"]+|(?<![\w@.])(?:[a-z0-9-]+\.)+(?:com|org|net|be|io|ru|tv|me|co|ly)"
    r"(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_COMMAND_IN_TEXT = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


_Method = Callable[[dict[str, str], dict[str, "UploadedFile"]], Awaitable[Any]]


# -- records ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request, as stored on the server's disk."""

    field: str
    """The multipart part's name (what an `attach://<name>` refers to)."""
    filename: str
    content_type: str
    path: Path
    size: int
    """Bytes received (for a part over the limit: how many arrived before it was refused)."""


@dataclass
class ApiCall:
    """One Bot API request and the answer it got."""

    method: str
    """As the client spelled it, e.g. "sendVideo"."""
    params: dict[str, str]
    """Every non-file parameter as a string; JSON values (reply_markup, media) stay JSON text."""
    files: dict[str, UploadedFile]
    response: dict[str, Any]
    status: int
    time: float
    """`time.monotonic()` when the request arrived."""

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def result(self) -> Any:
        return self.response.get("result")

    def json(self, name: str) -> Any:
        """A JSON parameter, decoded (None when absent)."""
        value = self.params.get(name)
        return None if value is None else json.loads(value)

    @property
    def sent_file(self) -> str:
        """The file a media send or a media edit put in its message: its file id, URL or
        `attach://` name."""
        if self.method == "editMessageMedia":
            return str(self.json("media")["media"])
        return next(self.params[kind] for kind in _MEDIA_KEYS if kind in self.params)

    def file(self, name: str) -> UploadedFile | None:
        """The upload parameter `name` referred to (`attach://x` or a part called `name`)."""
        value = self.params.get(name, "")
        if value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        return self.files.get(name)


@dataclass(frozen=True)
class WebhookPost:
    """One post of an update to the bot's webhook, and how it ended."""

    update_id: int
    status: int | None
    """The HTTP status answered; None when no answer came (refused, broken, timed out)."""
    error: str
    """What went wrong without an answer, or the answer's body when it was not 2xx."""
    retry_after: int
    """The answer's `Retry-After` header, in seconds (0: none)."""
    answered_at: float
    """`time.monotonic()` when the post ended."""
    lost: bool = False
    """A 2xx answer dropped on purpose (`lose_answers_in`): the update is posted again."""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status <= 299 and not self.lost


@dataclass
class _Redelivery:
    """Telegram's resend state of one update (`WebhookActor::on_update_error`)."""

    delay: float = 1.0
    fails: int = 0
    due: float = 0.0
    posts: int = 0


@dataclass
class _Delivery:
    """`deliver_to_webhook`'s settings; a new one replaces the old and its loop."""

    ssl: ssl.SSLContext | None
    timeout_s: float
    max_resend_delay_s: float


@dataclass(frozen=True)
class SentMedia:
    """One media item the bot posted (a single send, or one item of an album)."""

    method: str
    kind: str
    """"video", "audio", "document" or "photo"."""
    chat_id: int
    message_id: int
    file_id: str
    file_unique_id: str
    path: Path
    size: int
    uploaded: bool
    """True when the bytes came with this request; False for a reused file_id."""
    width: int | None
    height: int | None
    duration: int | None
    supports_streaming: bool | None
    """As the client gave them (None when not given)."""
    caption: str | None
    has_thumbnail: bool
    media_group_id: str | None


@dataclass
class _FileRecord:
    file_id: str
    file_unique_id: str
    path: Path
    size: int
    file_name: str
    mime_type: str
    width: int = 0
    height: int = 0
    duration: int = 0


@dataclass
class _InlineQuery:
    """An inline query a user typed, and the results the bot answered it with."""

    id: str
    user: dict[str, Any]
    query: str
    asked_at: float
    results: list[dict[str, Any]] | None = None


@dataclass
class _Stored:
    """A message as Telegram holds it: the object returned, plus what edits compare."""

    message: dict[str, Any]
    from_bot: bool
    source: tuple[str, str] = ("", "")
    """(raw text or caption, parse mode) as last sent: same source, same content."""
    inline: bool = False
    """Posted through an inline result: edits of it answer True, not the message."""


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: int | None
    count: int
    chat_id: int | None = None
    """Fail only calls to this chat (None: any call of the method)."""


class TelegramError(Exception):
    """An error answer: HTTP status, description, optional retry_after."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _commands_key(params: dict[str, str]) -> tuple[str, str]:
    """setMyCommands & co.: the (scope type, language code) a command list is kept under."""
    scope = json.loads(params["scope"]).get("type", "default") if params.get("scope") else "default"
    return str(scope), params.get("language_code", "")


def _bad(description: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {description}")


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


# -- text parsing -------------------------------------------------------------------------------


class _TelegramHtml(HTMLParser):
    """Telegram's HTML subset: strips the tags and refuses what Telegram refuses."""

    _ALLOWED = frozenset(
        {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a"}
        | {"code", "pre", "blockquote", "tg-emoji"}
    )

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._source = source
        self.text: list[str] = []
        self._open: list[str] = []

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self._source.split("\n")
        chars = sum(len(text) + 1 for text in lines[: line - 1]) + column
        return len(self._source[:chars].encode())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self._ALLOWED:
            raise _bad(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset '
                f"{self._offset()}"
            )
        self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1] != tag:
            raise _bad(f"can't parse entities: Unexpected end tag at byte offset {self._offset()}")
        self._open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def parse(self) -> str:
        self.feed(self._source)
        self.close()
        if self._open:
            raise _bad(
                "can't parse entities: Can't find end tag corresponding to start tag "
                f'"{self._open[-1]}"'
            )
        return "".join(self.text)


_MDV2_ALWAYS_ESCAPED = frozenset("#+-={}.!")


def _parse_markdown_v2(source: str) -> str:
    """The plain text of MarkdownV2 `source`; refuses unescaped reserved characters."""
    plain: list[str] = []
    in_code = in_url = False
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\" and index + 1 < len(source):
            plain.append(source[index + 1])
            index += 2
            continue
        if char == "`":
            in_code = not in_code
        elif in_url:
            in_url = char != ")"
        elif not in_code:
            if char == "(" and index and source[index - 1] == "]":
                in_url = True
            elif char in _MDV2_ALWAYS_ESCAPED or char in "()":
                raise _bad(
                    f"can't parse entities: Character '{char}' is reserved and must be escaped "
                    "with the preceding '\\'"
                )
            elif char not in "*_~|[]>":
                plain.append(char)
        elif char != "`":
            plain.append(char)
        index += 1
    return "".join(plain)


def _plain_text(source: str, parse_mode: str) -> str:
    """What Telegram stores for `source` under `parse_mode` (tags and markers removed)."""
    mode = parse_mode.lower()
    if mode == "html":
        return _TelegramHtml(source).parse()  # the parser already decodes &lt; and friends
    if mode == "markdownv2":
        return _parse_markdown_v2(source)
    return source


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entities(text: str) -> list[dict[str, Any]]:
    """The bot_command and url entities Telegram attaches to a user's text."""
    found: list[dict[str, Any]] = []
    for kind, pattern in (("bot_command", _COMMAND_IN_TEXT), ("url", _URL_IN_TEXT)):
        for match in pattern.finditer(text):
            value = match.group(0).rstrip(".,!?;:)")
            found.append(
                {
                    "type": kind,
                    "offset": _utf16_length(text[: match.start()]),
                    "length": _utf16_length(value),
                }
            )
    return sorted(found, key=lambda entity: int(entity["offset"]))


# -- the server ---------------------------------------------------------------------------------


class FakeTelegram:
    """A fake Bot API on 127.0.0.1; `start()`/`stop()` or use as a context manager.

    `upload_limit_bytes=None` means Telegram's own limit: 50 MB, or 2000 MB in local mode.
    `reset()` puts every knob back to the value given here. `flood_violations` counts the
    requests the rate limiter refused.
    """

    def __init__(
        self,
        root: Path,
        *,
        token: str | None = None,
        username: str = "mediabot_test_bot",
        first_name: str = "Mediabot Test",
        upload_limit_bytes: int | None = None,
        local_mode: bool = False,
        enforce_rate_limits: bool = False,
        rate_limit_burst: int = 3,
        latency: float = 0.0,
        inline_feedback: bool = True,
    ) -> None:
        self.root = root
        self.token = token or new_token()
        self.bot_id = int(self.token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self._defaults = {
            "upload_limit_bytes": upload_limit_bytes,
            "local_mode": local_mode,
            "enforce_rate_limits": enforce_rate_limits,
            "rate_limit_burst": rate_limit_burst,
            "latency": latency,
            "inline_feedback": inline_feedback,
        }
        self.upload_limit_bytes = upload_limit_bytes
        self.local_mode = local_mode
        self.enforce_rate_limits = enforce_rate_limits
        """When True: >30 messages/s overall, or a chat over 1 message/s (20/min in groups)
        beyond `rate_limit_burst`, answers 429 and counts a `flood_violations`."""
        self.rate_limit_burst = rate_limit_burst
        self.latency = latency
        """Seconds every API call waits before it is answered."""
        self.upload_bytes_per_second: int | None = None
        """When set, uploaded files take their size over this rate to arrive (reading the
        body included), one upload after another, as over one line (for the benches)."""
        self._upload_line = asyncio.Lock()
        self.inline_feedback = inline_feedback
        """Whether a chosen inline result comes back as a `chosen_inline_result` update
        (@BotFather's /setinlinefeedback)."""

        self._lock = threading.RLock()
        self._uploads = root / "uploads"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._wakeup: asyncio.Event | None = None
        self._delivery_wakeup = asyncio.Event()
        self._delivery_task: asyncio.Task[None] | None = None
        self._update_ids = itertools.count(1)  # never reset: a stale offset must not hide news
        self._upload_numbers = itertools.count(1)
        self._methods = self._method_table()
        self._clear_state()

    def _clear_state(self) -> None:
        with self._lock:
            self._calls: list[ApiCall] = []
            self._updates: list[dict[str, Any]] = []
            self._allowed_updates: list[str] = []
            self._poller: object | None = None
            self._messages: dict[tuple[int, int], _Stored] = {}
            self._last_message_id: dict[int, int] = {}
            self._chats: dict[int, dict[str, Any]] = {}
            self._files: dict[str, _FileRecord] = {}
            self._failures: dict[str, deque[_Failure]] = {}
            self._callback_queries: set[str] = set()
            self._media: list[SentMedia] = []
            self._blocked: set[int] = set()
            self._webhook: dict[str, Any] = {}
            self._commands: dict[tuple[str, str], list[Any]] = {}
            """Per (scope type, language code) as Telegram keeps them; "" is no language."""
            self._languages: dict[int, str] = {}
            """Telegram's `language_code` of a user (`speaks`); "en" when not set."""
            self._sent_times: deque[float] = deque()
            self._buckets: dict[int, tuple[float, float]] = {}
            self._media_groups = itertools.count(13_000_000_000_000_000)
            self._inline_queries: dict[str, _InlineQuery] = {}
            self._inline_messages: dict[str, _Stored] = {}
            """Messages posted through the bot's inline results, by inline message id: in
            chats the bot may not be in, so not among `_messages`."""
            self._holds: dict[int, asyncio.Event] = {}
            """Chats whose calls wait (`hold_calls_to`)."""
            self._held: dict[int, int] = {}
            self._delivery: _Delivery | None = None
            self._delivery_failure: BaseException | None = None
            self._redeliveries: dict[int, _Redelivery] = {}
            self._webhook_posts: list[WebhookPost] = []
            self._post_twice_in: set[int] = set()
            self._lose_answers_in: set[int] = set()
            self._next_set_webhook = 0.0
            """Telegram takes one `setWebhook` with a URL a second; an earlier one gets 429."""
            self.flood_violations = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> FakeTelegram:
        self._uploads.mkdir(parents=True, exist_ok=True)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            raise RuntimeError("the fake Telegram server did not start") from failure[0]
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._wakeup = asyncio.Event()
        app = web.Application(client_max_size=1024**4)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._poller = None
        self._delivery = None
        self._wake()
        if self._delivery_task is not None:
            task = self._delivery_task
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_cancelled(task), loop).result(10)
        if self._runner is not None:
            runner = self._runner
            future = asyncio.run_coroutine_threadsafe(runner.cleanup(), loop)
            with contextlib.suppress(Exception):
                future.result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: give it to `TelegramAPIServer.from_base`."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def effective_upload_limit(self) -> int:
        if self.upload_limit_bytes is not None:
            return self.upload_limit_bytes
        return LOCAL_UPLOAD_LIMIT if self.local_mode else CLOUD_UPLOAD_LIMIT

    def reset(self) -> None:
        """Forget calls, updates, messages, files and failures; knobs back to their defaults."""
        with self._lock:
            for name, value in self._defaults.items():
                setattr(self, name, value)
            holds = list(self._holds.values())
            self._clear_state()
            loop = self._loop
            if loop is not None and not loop.is_closed():
                for hold in holds:
                    loop.call_soon_threadsafe(hold.set)
            shutil.rmtree(self._uploads, ignore_errors=True)
            self._uploads.mkdir(parents=True, exist_ok=True)
        self._wake()

    # -- test-facing API -----------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """Every API call since the last reset, oldest first (a copy of the list)."""
        with self._lock:
            return list(self._calls)

    def speaks(self, user_id: int, language_code: str) -> None:
        """From now on the user's messages and presses carry this `language_code`."""
        with self._lock:
            self._languages[user_id] = language_code

    def commands(self, scope: str = "default", language_code: str = "") -> list[dict[str, Any]]:
        """The commands set for a scope type ("all_private_chats"…) and language ("" none)."""
        with self._lock:
            return copy.deepcopy(self._commands.get((scope, language_code), []))

    def calls_of(self, *methods: str) -> list[ApiCall]:
        """The calls of these methods (names compared case-insensitively)."""
        wanted = {method.lower() for method in methods}
        return [call for call in self.calls if call.method.lower() in wanted]

    def inject_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (given without `update_id`) for getUpdates; returns it complete.

        A callback query's id becomes answerable once.
        """
        with self._lock:
            update = {"update_id": next(self._update_ids), **payload}
            if "callback_query" in payload:
                self._callback_queries.add(str(payload["callback_query"]["id"]))
            self._updates.append(update)
        self._wake()
        return copy.deepcopy(update)

    def inject_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Ann",
        username: str | None = None,
        chat_type: str = "private",
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user writes `text` in `chat_id`; returns the update (queued for getUpdates).

        The user is `chat_id` in a private chat, else `user_id` or 1001. With
        `message_thread_id` the message is in that forum topic; with `reply_to_message_id`
        it replies to that message of the chat. `fields` are set on the message as given,
        a None removing one (`{"from": None, "sender_chat": {...}}`: sent as a chat by an
        older client).
        """
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 1001
        user = self._user(user_id, first_name, username)
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat.update({key: user[key] for key in ("first_name", "username") if key in user})
        else:
            chat["title"] = "Test group"
        with self._lock:
            self._chats[chat_id] = chat
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "from": user,
                "chat": dict(chat),
                "date": int(time.time()),
                "text": text,
            }
            if entities := _entities(text):
                message["entities"] = entities
            if message_thread_id is not None:
                message.update(message_thread_id=message_thread_id, is_topic_message=True)
            replied = self._messages.get((chat_id, reply_to_message_id or 0))
            if replied is not None:
                message["reply_to_message"] = copy.deepcopy(replied.message)
            for name, value in (fields or {}).items():
                if value is None:
                    message.pop(name, None)
                else:
                    message[name] = value
            self._messages[(chat_id, message["message_id"])] = _Stored(message, from_bot=False)
        return self.inject_update({"message": message})

    def inject_document(
        self,
        chat_id: int,
        path: Path,
        *,
        file_name: str | None = None,
        mime_type: str = "text/plain",
        caption: str | None = None,
    ) -> dict[str, Any]:
        """A user sends the file at `path` as a document in a private chat; returns the update.

        The file is served by `getFile` and the file endpoint like one the bot uploaded.
        """
        name = file_name or path.name
        size = path.stat().st_size
        record = _FileRecord(
            file_id="BQACAgIAAxkBAAI" + secrets.token_urlsafe(24),
            file_unique_id="AgAD" + secrets.token_urlsafe(8),
            path=path,
            size=size,
            file_name=name,
            mime_type=mime_type,
        )
        with self._lock:
            self._files[record.file_id] = record
        document = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_name": name,
            "mime_type": mime_type,
            "file_size": size,
        }
        fields: dict[str, Any] = {"text": None, "document": document}
        if caption is not None:
            fields["caption"] = caption
        return self.inject_message(chat_id, "", fields=fields)

    def edit_user_message(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The user edits their message `message_id` to `text`; returns the
        `edited_message` update (queued for getUpdates)."""
        with self._lock:
            stored = self._messages[(chat_id, message_id)]
            message = copy.deepcopy(stored.message)
            message["text"] = text
            message.pop("entities", None)
            if entities := _entities(text):
                message["entities"] = entities
            message["edit_date"] = int(time.time())
            self._messages[(chat_id, message_id)] = _Stored(message, from_bot=False)
        return self.inject_update({"edited_message": message})

    def inject_callback(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> dict[str, Any]:
        """A user presses a button with `data` under message `message_id`; returns the update."""
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            message = copy.deepcopy(stored.message) if stored else None
            chat = self._chat(chat_id)
            query_id = str(secrets.randbelow(10**18))
        if message is None:  # Telegram sends an "inaccessible message" with date 0
            message = {"chat": chat, "message_id": message_id, "date": 0}
        default_user = chat_id if chat_id > 0 else 1001
        user = self._user(user_id if user_id is not None else default_user, "Ann", None)
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919),
            "data": data,
        }
        return self.inject_update({"callback_query": query})

    def inject_inline_query(self, user_id: int, query: str, *, chat_type: str = "sender") -> str:
        """A user types `@bot query` in some chat; returns the inline query's id."""
        with self._lock:
            user = self._user(user_id, "Ann", None)
            query_id = str(secrets.randbelow(10**18))
            self._inline_queries[query_id] = _InlineQuery(query_id, user, query, time.monotonic())
        update = {
            "inline_query": {
                "id": query_id,
                "from": user,
                "query": query,
                "offset": "",
                "chat_type": chat_type,
            }
        }
        self.inject_update(update)
        return query_id

    def inline_results(self, query_id: str) -> list[dict[str, Any]] | None:
        """The results the bot answered an inline query with (None: not answered)."""
        with self._lock:
            query = self._inline_queries.get(query_id)
            return copy.deepcopy(query.results) if query is not None else None

    def choose_inline_result(self, query_id: str, result_id: str) -> str | None:
        """The user taps one of the answered results: Telegram posts it in their chat.

        Returns the posted message's inline message id, which exists (as for Telegram) only
        when the result carries an inline keyboard; with `inline_feedback`, the bot then
        gets a `chosen_inline_result` update.
        """
        with self._lock:
            query = self._inline_queries[query_id]
            assert query.results is not None, "the query was not answered"
            result = next(r for r in query.results if r["id"] == result_id)
            message, source = self._inline_content(result)
            inline_message_id = None
            if result.get("reply_markup"):
                inline_message_id = secrets.token_urlsafe(18)
                message["reply_markup"] = result["reply_markup"]
                self._inline_messages[inline_message_id] = _Stored(
                    message, from_bot=True, source=source, inline=True
                )
            chosen: dict[str, Any] = {
                "result_id": result_id,
                "from": query.user,
                "query": query.query,
            }
            if inline_message_id is not None:
                chosen["inline_message_id"] = inline_message_id
        if self.inline_feedback:
            self.inject_update({"chosen_inline_result": chosen})
        return inline_message_id

    def inline_message(self, inline_message_id: str) -> dict[str, Any]:
        """A message posted through an inline result, as it is now (edited)."""
        with self._lock:
            return copy.deepcopy(self._inline_messages[inline_message_id].message)

    async def wait_for(
        self,
        predicate: Callable[[ApiCall], bool],
        timeout: float = 10,  # noqa: ASYNC109 - the bench's contract; polls, cancels nothing
        *,
        since: int = 0,
    ) -> ApiCall:
        """The first call from index `since` on that matches; waits up to `timeout` seconds.

        Usable from any event loop. Raises TimeoutError listing the calls seen.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = self._find(predicate, since)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_message(timeout))
            await asyncio.sleep(0.01)

    def wait_for_blocking(
        self, predicate: Callable[[ApiCall], bool], timeout: float = 10, *, since: int = 0
    ) -> ApiCall:
        """`wait_for` for synchronous code (never call it on an event loop)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self._find(predicate, since)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise TimeoutError(self._timeout_message(timeout))
            time.sleep(0.01)

    def sent_messages(self, chat_id: int) -> list[dict[str, Any]]:
        """The bot's messages in `chat_id` as they are now (edited, not deleted), oldest first."""
        with self._lock:
            found = [
                copy.deepcopy(stored.message)
                for (chat, _), stored in sorted(self._messages.items())
                if chat == chat_id and stored.from_bot
            ]
        return found

    def sent_media(self, chat_id: int | None = None) -> list[SentMedia]:
        """Every media item the bot posted (in `chat_id`, if given), oldest first."""
        with self._lock:
            return [item for item in self._media if chat_id is None or item.chat_id == chat_id]

    def stored_upload_bytes(self) -> int:
        """Bytes of upload bodies stored so far, those still arriving included."""
        return sum(path.stat().st_size for path in self._uploads.iterdir())

    def uploaded_path(self, file_id: str) -> Path:
        """The stored bytes behind `file_id`; KeyError for an id this server never issued."""
        with self._lock:
            return self._files[file_id].path

    def fail_next(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int = 1,
        description: str | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Make the next `count` calls of `method` ("*" for any) fail with `error_code`.

        A 429 carries `parameters.retry_after`; other codes get Telegram's usual description
        unless `description` is given. With `chat_id`, only calls to that chat fail. The
        failed call does nothing else.
        """
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        failure = _Failure(
            error_code, description, retry_after if error_code == 429 else None, count, chat_id
        )
        with self._lock:
            self._failures.setdefault(method.lower(), deque()).append(failure)

    def hold_calls_to(self, chat_id: int) -> None:
        """From now on, calls naming `chat_id` wait unanswered (as over a stalled network)
        until `release_calls_to`; `calls_held` counts those waiting."""
        with self._lock:
            self._holds.setdefault(chat_id, asyncio.Event())  # waited on in the server's loop

    def release_calls_to(self, chat_id: int) -> None:
        """The calls to `chat_id` held so far go on, and the next ones are not held."""
        with self._lock:
            hold = self._holds.pop(chat_id, None)
        if hold is not None:
            self._require_loop().call_soon_threadsafe(hold.set)

    def calls_held(self, chat_id: int) -> int:
        with self._lock:
            return self._held.get(chat_id, 0)

    async def wait_until_held(
        self,
        chat_id: int,
        timeout: float = 30,  # noqa: ASYNC109 - as `wait_for`: polls, cancels nothing
    ) -> None:
        """Wait until a call to `chat_id` is held (`hold_calls_to`); usable from any loop."""
        deadline = time.monotonic() + timeout
        while True:
            if self.calls_held(chat_id):
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no call to chat {chat_id} held within {timeout} s")
            await asyncio.sleep(0.01)

    def block_chat(self, chat_id: int) -> None:
        """The user blocked the bot: every send to `chat_id` answers 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def deliver_to_webhook(
        self,
        *,
        cafile: Path | None = None,
        timeout_s: float = 60.0,
        max_resend_delay_s: float = 60.0,
    ) -> None:
        """From now on (until `reset`), while a webhook is set, updates are posted to it as
        Telegram does, instead of waiting for getUpdates.

        HTTPS is verified against `cafile` (e.g. a proxy's own root certificate). Each chat's
        updates go one at a time, in order; up to the webhook's `max_connections` posts are
        open at once. An update is forgotten once answered 2xx; otherwise (another status, no
        answer within `timeout_s`, a refused or broken connection) it is posted again at once,
        then after 2, 4, 8 … s up to `max_resend_delay_s`, or after the answer's
        `Retry-After` (Telegram's `WebhookActor`).
        """
        context = None
        if cafile is not None:
            context = ssl.create_default_context(cafile=str(cafile))
        delivery = _Delivery(context, timeout_s, max_resend_delay_s)
        loop = self._require_loop()
        with self._lock:
            self._delivery = delivery
        loop.call_soon_threadsafe(self._start_delivery, delivery)

    def post_twice_in(self, chat_id: int) -> None:
        """The first post of each update of `chat_id` goes out twice at once, on two
        connections (as after a reconnect): the bot must handle it once."""
        with self._lock:
            self._post_twice_in.add(chat_id)

    def lose_answers_in(self, chat_id: int) -> None:
        """A 2xx answer to the first post of each update of `chat_id` is dropped as if the
        connection broke before it arrived: the update, handled, is posted again."""
        with self._lock:
            self._lose_answers_in.add(chat_id)

    @property
    def webhook_posts(self) -> list[WebhookPost]:
        """Every post to the webhook since the last reset, in the order they ended.

        Raises when the delivery itself failed (a bug of this fake)."""
        with self._lock:
            if self._delivery_failure is not None:
                raise RuntimeError("the fake's webhook delivery failed") from (
                    self._delivery_failure
                )
            return list(self._webhook_posts)

    def unblock_chat(self, chat_id: int) -> None:
        """The user unblocked the bot (or the bot was added back): sends go through again."""
        with self._lock:
            self._blocked.discard(chat_id)

    async def post_update_to(
        self,
        url: str,
        update: dict[str, Any],
        *,
        secret_token: str | None = None,
        answer_within_s: float = 30,
    ) -> int:
        """POST `update` to a webhook `url` the way Telegram does; returns the HTTP status.

        Raises `TimeoutError` when no answer came within `answer_within_s` (the connection is
        closed then, as Telegram closes it).
        """
        loop = self._require_loop()
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token

        async def post() -> int:
            async with (
                ClientSession(timeout=ClientTimeout(total=answer_within_s)) as session,
                session.post(url, data=json.dumps(update), headers=headers) as response,
            ):
                return response.status

        # Posted from the server's loop, so a webhook served by the caller's loop can answer.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(post(), loop))

    # -- helpers -------------------------------------------------------------------------------

    async def _wait_if_held(self, params: dict[str, str]) -> None:
        chat_id = _int_or_none(params.get("chat_id"))
        with self._lock:
            hold = self._holds.get(chat_id) if chat_id is not None else None
            if hold is None or chat_id is None:
                return
            self._held[chat_id] = self._held.get(chat_id, 0) + 1
        try:
            await hold.wait()
        finally:
            with self._lock:
                self._held[chat_id] -= 1

    def _find(self, predicate: Callable[[ApiCall], bool], since: int) -> ApiCall | None:
        return next((call for call in self.calls[since:] if predicate(call)), None)

    def _timeout_message(self, timeout: float) -> str:
        seen = ", ".join(f"{call.method}->{call.status}" for call in self.calls[-20:])
        return f"no matching Bot API call within {timeout} s; last calls: [{seen}]"

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the fake Telegram server is not running")
        return self._loop

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake_pollers)

    def _wake_pollers(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = asyncio.Event()
        self._delivery_wakeup.set()

    def _user(self, user_id: int, first_name: str, username: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": self._languages.get(user_id, "en"),
        }
        if username:
            user["username"] = username
        return user

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def _chat(self, chat_id: int) -> dict[str, Any]:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Ann"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": "Test group"}

    def _next_message_id(self, chat_id: int) -> int:
        number = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = number
        return number

    # -- webhook delivery (in the server's loop) -----------------------------------------------

    def _start_delivery(self, delivery: _Delivery) -> None:
        if self._delivery_task is not None:
            self._delivery_task.cancel()
        self._delivery_task = asyncio.ensure_future(self._deliver(delivery))
        self._delivery_task.add_done_callback(self._delivery_ended)

    def _delivery_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            with self._lock:
                self._delivery_failure = task.exception()

    async def _deliver(self, delivery: _Delivery) -> None:
        connector = TCPConnector(limit=0, ssl=delivery.ssl if delivery.ssl is not None else True)
        timeout = ClientTimeout(total=None, sock_connect=10, sock_read=delivery.timeout_s)
        posting: dict[int, asyncio.Task[None]] = {}
        """Each chat's (queue's) post under way, by queue."""
        async with ClientSession(connector=connector, timeout=timeout) as session:
            try:
                while True:
                    self._delivery_wakeup.clear()
                    for queue in [queue for queue, task in posting.items() if task.done()]:
                        posting.pop(queue).result()  # a bug of this fake ends the delivery
                    with self._lock:
                        if self._delivery is not delivery:
                            return
                        hook = dict(self._webhook)
                        due = self._due_updates(hook, set(posting), time.monotonic())
                    next_due = None
                    for queue, update, wait in due:
                        if wait > 0:
                            next_due = wait if next_due is None else min(next_due, wait)
                        elif len(posting) < hook["max_connections"]:
                            task = asyncio.ensure_future(self._post_update(session, hook, update))
                            task.add_done_callback(lambda _: self._delivery_wakeup.set())
                            posting[queue] = task
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._delivery_wakeup.wait(), next_due)
            finally:
                for task in posting.values():
                    task.cancel()
                await asyncio.gather(*posting.values(), return_exceptions=True)

    def _due_updates(
        self, hook: dict[str, Any], busy: set[int], now: float
    ) -> list[tuple[int, dict[str, Any], float]]:
        """The first pending update of each chat (queue) with no post under way: (queue, the
        update, seconds until it is due); none without a webhook. Under the lock."""
        if not hook.get("url"):
            return []
        allowed = set(hook.get("allowed_updates") or ())
        if allowed:  # Telegram never sends the others
            self._updates = [u for u in self._updates if _update_type(u) in allowed]
        firsts: dict[int, dict[str, Any]] = {}
        for update in self._updates:
            firsts.setdefault(_queue_of(update), update)
        due = []
        for queue, update in firsts.items():
            if queue in busy:
                continue
            state = self._redeliveries.setdefault(update["update_id"], _Redelivery(due=now))
            due.append((queue, copy.deepcopy(update), max(0.0, state.due - now)))
        return due

    async def _post_update(
        self, session: ClientSession, hook: dict[str, Any], update: dict[str, Any]
    ) -> None:
        update_id = update["update_id"]
        queue = _queue_of(update)
        with self._lock:
            state = self._redeliveries[update_id]
            first = state.posts == 0
            state.posts += 1
            copies = 2 if first and queue in self._post_twice_in else 1
            lose = first and queue in self._lose_answers_in
        posts = await asyncio.gather(
            *(self._post_once(session, hook, update, lose) for _ in range(copies))
        )
        with self._lock:
            self._webhook_posts.extend(posts)
            if any(post.ok for post in posts):
                self._updates = [u for u in self._updates if u["update_id"] != update_id]
                self._redeliveries.pop(update_id, None)
                return
            # WebhookActor::on_update_error: the first failure is posted again at once,
            # later ones after a doubling delay, or after the answer's Retry-After.
            retry_after = max(post.retry_after for post in posts)
            delay = state.delay
            wait = float(retry_after)
            if retry_after == 0 and state.fails > 0:
                delay = min(self._delivery_cap(), delay * 2)
                wait = delay
            state.delay, state.fails = delay, state.fails + 1
            state.due = time.monotonic() + wait

    def _delivery_cap(self) -> float:
        delivery = self._delivery
        return delivery.max_resend_delay_s if delivery is not None else 60.0

    async def _post_once(
        self, session: ClientSession, hook: dict[str, Any], update: dict[str, Any], lose: bool
    ) -> WebhookPost:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        update_id = update["update_id"]
        try:
            async with session.post(
                hook["url"], data=json.dumps(update), headers=headers
            ) as answer:
                body = await answer.text()
                ok = 200 <= answer.status <= 299
                header = answer.headers.get("Retry-After", "")
                retry_after = int(header) if header.isdigit() else 0
                return WebhookPost(
                    update_id,
                    answer.status,
                    "" if ok else body[:200],
                    min(retry_after, 3600),
                    time.monotonic(),
                    lost=ok and lose,
                )
        except (ClientError, TimeoutError, OSError) as exc:
            return WebhookPost(update_id, None, repr(exc)[:200], 0, time.monotonic())

    # -- HTTP handlers -------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        params: dict[str, str] = {}
        files: dict[str, UploadedFile] = {}
        try:
            if request.match_info["token"] != self.token:
                raise TelegramError(401, "Unauthorized")
            over_limit = await self._read_upload(request, params, files)
            if self.latency:
                await asyncio.sleep(self.latency)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise TelegramError(404, "Not Found")
            await self._wait_if_held(params)
            self._take_failure(method, params)
            self._check_rate(method, params)
            if over_limit:
                raise TelegramError(413, "Request Entity Too Large")
            body: dict[str, Any] = {"ok": True, "result": await handler(params, files)}
            status = 200
        except TelegramError as error:
            body, status = error.body(), error.status
        except Exception as exc:  # a bug of this fake: make it visible in the call and to aiogram
            failure = TelegramError(500, f"Internal Server Error: the fake Bot API failed: {exc!r}")
            body, status = failure.body(), failure.status
        call = ApiCall(method, params, files, body, status, arrived)
        with self._lock:
            self._calls.append(call)  # before answering: a waiting test sees it no later
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return web.json_response(TelegramError(401, "Unauthorized").body(), status=401)
        wanted = request.match_info["path"]
        with self._lock:
            record = next((r for r in self._files.values() if self._file_path(r) == wanted), None)
        if record is None or not record.path.exists():
            return web.json_response(TelegramError(404, "Not Found").body(), status=404)
        return web.FileResponse(record.path)

    async def _read_upload(
        self, request: web.Request, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> bool:
        """`_read_params`; with `upload_bytes_per_second`, an upload (a body streamed, or
        over `_SMALL_BODY`) takes the line for as long as its bytes need at that rate,
        reading included (the body itself crosses loopback at once), one upload after
        another; small requests pass beside it."""
        length = request.content_length
        small = length is not None and length <= _SMALL_BODY
        if not self.upload_bytes_per_second or not request.can_read_body or small:
            return await self._read_params(request, params, files)
        async with self._upload_line:
            started = time.monotonic()
            over_limit = await self._read_params(request, params, files)
            size = sum(upload.size for upload in files.values())
            line_s = size / self.upload_bytes_per_second
            await asyncio.sleep(max(0.0, started + line_s - time.monotonic()))
        return over_limit

    async def _read_params(
        self, request: web.Request, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> bool:
        """Fill `params` and `files` from the query and body; True if a part was over the limit."""
        params.update(request.query)
        if request.content_type == "multipart/form-data":
            return await self._read_multipart(request, params, files)
        if not request.can_read_body:
            return False
        if request.content_type == "application/json":
            try:
                decoded = await request.json()
            except json.JSONDecodeError as exc:
                raise _bad("can't parse JSON object") from exc
            for name, value in dict(decoded).items():
                params[name] = value if isinstance(value, str) else json.dumps(value)
        else:
            form = await request.post()
            params.update({name: str(value) for name, value in form.items()})
        return False

    async def _read_multipart(
        self, request: web.Request, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> bool:
        limit = self.effective_upload_limit
        over_limit = False
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is None:
                params[part.name] = await part.text()
                continue
            upload = await self._store_part(part, part.name, limit)
            files[part.name] = upload
            over_limit = over_limit or upload.size > limit
        return over_limit

    async def _store_part(self, part: BodyPartReader, name: str, limit: int) -> UploadedFile:
        filename = part.filename or name
        safe = re.sub(r"[^\w.-]", "_", Path(filename).name)[-80:] or "file"
        path = self._uploads / f"{next(self._upload_numbers):05d}-{safe}"
        size = 0
        # Small sequential writes to the page cache: cheap enough to do on the loop here.
        with path.open("wb") as out:
            while chunk := await part.read_chunk(_CHUNK):
                size += len(chunk)
                if size <= limit:
                    out.write(chunk)
        if size > limit:  # keep reading to the end so the client gets the 413, not a reset
            path.unlink(missing_ok=True)
        content_type = part.headers.get("Content-Type", "application/octet-stream")
        return UploadedFile(name, filename, content_type, path, size)

    def _take_failure(self, method: str, params: dict[str, str]) -> None:
        chat_id = _int_or_none(params.get("chat_id"))
        with self._lock:
            for key in (method.lower(), "*"):
                queue = self._failures.get(key, deque())
                failure = next(
                    (f for f in queue if f.chat_id is None or f.chat_id == chat_id), None
                )
                if failure is not None:
                    failure.count -= 1
                    if failure.count <= 0:
                        queue.remove(failure)
                    raise TelegramError(
                        failure.error_code, failure.description, failure.retry_after
                    )

    def _check_rate(self, method: str, params: dict[str, str]) -> None:
        name = method.lower()
        if not self.enforce_rate_limits or name in _UNLIMITED:
            return
        if not name.startswith(_RATE_LIMITED_PREFIXES):
            return
        chat_id = _int_or_none(params.get("chat_id"))
        weight = 1
        if name == "sendmediagroup":
            with contextlib.suppress(ValueError, TypeError):
                weight = max(1, len(json.loads(params.get("media", "[]"))))
        now = time.monotonic()
        with self._lock:
            sent = self._sent_times
            while sent and sent[0] <= now - 1:
                sent.popleft()
            wait = 0.0
            if len(sent) + weight > RATE_GLOBAL_PER_SECOND:
                wait = sent[0] + 1 - now if sent else 1.0
            tokens = 0.0
            if chat_id is not None:
                rate = RATE_PRIVATE_PER_SECOND if chat_id > 0 else RATE_GROUP_PER_MINUTE / 60
                capacity = float(max(self.rate_limit_burst, weight))
                tokens, last = self._buckets.get(chat_id, (capacity, now))
                tokens = min(capacity, tokens + (now - last) * rate)
                if tokens < weight:
                    wait = max(wait, (weight - tokens) / rate)
            if wait > 0:
                self.flood_violations += 1
                retry_after = max(1, math.ceil(wait))
                raise TelegramError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after
                )
            sent.extend([now] * weight)
            if chat_id is not None:
                self._buckets[chat_id] = (tokens - weight, now)

    # -- Bot API methods -----------------------------------------------------------------------

    def _method_table(self) -> dict[str, _Method]:
        return {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "editmessagemedia": self._edit_message_media,
            "deletemessage": self._delete_message,
            "sendchataction": self._send_chat_action,
            "sendvideo": lambda p, f: self._send_media("video", "sendVideo", p, f),
            "sendaudio": lambda p, f: self._send_media("audio", "sendAudio", p, f),
            "senddocument": lambda p, f: self._send_media("document", "sendDocument", p, f),
            "sendphoto": lambda p, f: self._send_media("photo", "sendPhoto", p, f),
            "sendmediagroup": self._send_media_group,
            "copymessage": self._copy_message,
            "getfile": self._get_file,
        }

    async def _get_me(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        offset = _int_or_none(params.get("offset")) or 0
        limit = min(max(_int_or_none(params.get("limit")) or 100, 1), 100)
        timeout = max(0.0, float(params.get("timeout") or 0))
        deadline = time.monotonic() + timeout
        me = object()
        with self._lock:
            if self._webhook.get("url"):
                raise TelegramError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            if "allowed_updates" in params:
                allowed = _json_param(params, "allowed_updates", "can't parse allowed_updates")
                self._allowed_updates = list(allowed or [])
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            self._poller = me
        self._wake_pollers()  # an older long poll, if any, ends with a conflict
        while True:
            with self._lock:
                if self._poller is not me:
                    raise TelegramError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                allowed = set(self._allowed_updates)
                if allowed:
                    self._updates = [u for u in self._updates if _update_type(u) in allowed]
                ready = copy.deepcopy(self._updates[:limit])
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0:
                return ready
            assert self._wakeup is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)

    async def _set_webhook(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        url = params.get("url", "")
        if url and not url.startswith("https://") and not self.local_mode:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        with self._lock:
            now = time.monotonic()
            if url and now < self._next_set_webhook:
                raise TelegramError(429, "Too Many Requests: retry after 1", 1)
            self._next_set_webhook = now + 1
            self._webhook = {
                "url": url,
                "secret_token": params.get("secret_token"),
                "allowed_updates": _json_param(
                    params, "allowed_updates", "can't parse allowed_updates"
                ),
                "max_connections": int(params.get("max_connections") or 40),
            }
            if params.get("drop_pending_updates") == "true":
                self._updates.clear()
            self._poller = None
        self._wake_pollers()
        return True

    async def _delete_webhook(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        with self._lock:
            self._webhook = {}
            if params.get("drop_pending_updates") == "true":
                self._updates.clear()
        return True

    async def _get_webhook_info(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        with self._lock:
            return {
                "url": self._webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }

    async def _set_my_commands(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        commands = _json_param(params, "commands", "can't parse commands JSON object")
        for command in commands:
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        with self._lock:
            self._commands[_commands_key(params)] = commands
        return True

    async def _delete_my_commands(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        with self._lock:
            self._commands.pop(_commands_key(params), None)
        return True

    async def _get_my_commands(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        with self._lock:
            return copy.deepcopy(self._commands.get(_commands_key(params), []))

    async def _send_chat_action(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        self._target_chat(params)
        if not params.get("action"):
            raise _bad("action is empty")
        return True

    async def _send_message(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        source = params.get("text", "")
        parse_mode = params.get("parse_mode", "")
        text = _plain_text(source, parse_mode) if not params.get("entities") else source
        if not text.strip():
            raise _bad("message text is empty")
        if _utf16_length(text) > MAX_TEXT:  # Telegram counts UTF-16 code units
            raise _bad("message is too long")
        content: dict[str, Any] = {"text": text}
        return self._post(chat_id, params, content, (source, parse_mode))

    async def _copy_message(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        from_chat = _int_or_none(params.get("from_chat_id"))
        message_id = _int_or_none(params.get("message_id"))
        with self._lock:
            stored = self._messages.get((from_chat or 0, message_id or 0))
        if stored is None:
            raise _bad("message to copy not found")
        content = {
            key: copy.deepcopy(value)
            for key, value in stored.message.items()
            if key in ("text", "entities", "caption", "video", "audio", "document", "photo")
        }
        message = self._post(chat_id, params, content, stored.source)
        return {"message_id": message["message_id"]}

    def _post(
        self,
        chat_id: int,
        params: dict[str, str],
        content: dict[str, Any],
        source: tuple[str, str],
        media_group_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a new bot message in `chat_id` and return the Message object."""
        markup = _inline_markup(params.get("reply_markup"))
        with self._lock:
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "from": self._bot_user(),
                "chat": self._chat(chat_id),
                "date": int(time.time()),
                **content,
            }
            if media_group_id is not None:
                message["media_group_id"] = media_group_id
            if markup is not None:
                message["reply_markup"] = markup
            reply_to = _reply_to(params)
            if reply_to is not None and (chat_id, reply_to) in self._messages:
                replied = copy.deepcopy(self._messages[(chat_id, reply_to)].message)
                replied.pop("reply_to_message", None)
                message["reply_to_message"] = replied
            self._messages[(chat_id, message["message_id"])] = _Stored(
                message, from_bot=True, source=source
            )
            return copy.deepcopy(message)

    def _target_chat(self, params: dict[str, str]) -> int:
        raw = params.get("chat_id")
        if not raw:
            raise _bad("chat_id is empty")
        chat_id = _int_or_none(raw)
        if chat_id is None:
            raise _bad("chat not found")
        with self._lock:
            if chat_id in self._blocked:
                raise TelegramError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _editable(self, params: dict[str, str]) -> tuple[int, int, _Stored]:
        """The message an edit is about: by chat and message id, or by inline message id
        (then the chat and message ids are 0: the bot does not see that chat)."""
        inline_message_id = params.get("inline_message_id")
        if inline_message_id:
            with self._lock:
                inline = self._inline_messages.get(inline_message_id)
            if inline is None:
                raise _bad("MESSAGE_ID_INVALID")
            return 0, 0, inline
        chat_id = self._target_chat(params)
        message_id = _int_or_none(params.get("message_id"))
        if message_id is None:
            raise _bad("message identifier is not specified")
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise _bad("message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        return chat_id, message_id, stored

    def _apply_edit(
        self,
        stored: _Stored,
        content: dict[str, Any],
        source: tuple[str, str],
        markup_param: str | None,
    ) -> Any:
        """The edited message, or True for an inline message (as Telegram answers)."""
        markup = _inline_markup(markup_param)
        with self._lock:
            same_content = source == stored.source and all(
                stored.message.get(key) == value for key, value in content.items()
            )
            if same_content and markup == stored.message.get("reply_markup"):
                raise TelegramError(400, NOT_MODIFIED)
            for key, value in content.items():
                if value is None:
                    stored.message.pop(key, None)
                else:
                    stored.message[key] = value
            stored.source = source
            if markup is None:
                stored.message.pop("reply_markup", None)
            else:
                stored.message["reply_markup"] = markup
            stored.message["edit_date"] = int(time.time())
            return True if stored.inline else copy.deepcopy(stored.message)

    async def _edit_message_text(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        _, _, stored = self._editable(params)
        if "text" not in stored.message:
            raise _bad("there is no text in the message to edit")
        source = params.get("text", "")
        parse_mode = params.get("parse_mode", "")
        text = _plain_text(source, parse_mode) if not params.get("entities") else source
        if not text.strip():
            raise _bad("message text is empty")
        if _utf16_length(text) > MAX_TEXT:  # Telegram counts UTF-16 code units
            raise _bad("MESSAGE_TOO_LONG")
        return self._apply_edit(
            stored, {"text": text}, (source, parse_mode), params.get("reply_markup")
        )

    async def _edit_message_caption(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        _, _, stored = self._editable(params)
        if "text" in stored.message:
            raise _bad("there is no caption in the message to edit")
        source = params.get("caption", "")
        parse_mode = params.get("parse_mode", "")
        content: dict[str, Any] = {"caption": _caption(source, parse_mode) or None}
        return self._apply_edit(stored, content, (source, parse_mode), params.get("reply_markup"))

    async def _edit_message_reply_markup(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        _, _, stored = self._editable(params)
        return self._apply_edit(stored, {}, stored.source, params.get("reply_markup"))

    async def _edit_message_media(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        """A message's media replaced, or a text message's text replaced by media (Bot API
        9+); an inline message takes a file id or URL only. An album's item keeps its
        album's kind: audio stays audio, a document a document, the rest photo or video."""
        chat_id, _, stored = self._editable(params)
        spec = _json_param(params, "media", "can't parse InputMedia JSON object")
        if not isinstance(spec, dict) or not spec.get("media"):
            raise _bad("can't parse InputMedia: media not found")
        kind = str(spec.get("type"))
        if kind not in _MEDIA_KEYS:
            raise _bad("can't parse InputMedia: unsupported media type")
        value = str(spec["media"])
        if stored.inline and value.startswith("attach://"):
            raise _bad("a new file can't be uploaded when an inline message is edited")
        if stored.message.get("media_group_id") and _album_kind(kind) != _album_kind(
            next(key for key in _MEDIA_KEYS if key in stored.message)
        ):
            raise _bad("MEDIA_GROUP_EDIT_FORBIDDEN")  # not the album's kind
        settings = {key: str(item) for key, item in spec.items() if key not in ("type", "media")}
        content, item = await self._media_content(kind, value, settings, files)
        source = str(spec.get("caption") or ""), str(spec.get("parse_mode") or "")
        caption = _caption(*source) or None
        content["caption"] = caption
        for other in ("text", "entities", "link_preview_options", *_MEDIA_KEYS):
            if other not in content:
                content[other] = None
        edited = self._apply_edit(stored, content, source, params.get("reply_markup"))
        if not stored.inline:
            self._record_media(
                "editMessageMedia", kind, chat_id, edited, item, settings, caption, None
            )
        return edited

    async def _answer_inline_query(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        """The answer to an inline query, checked as Telegram checks it."""
        with self._lock:
            query = self._inline_queries.get(params.get("inline_query_id", ""))
        too_old = query is None or time.monotonic() - query.asked_at > INLINE_ANSWER_WINDOW_S
        if query is None or too_old or query.results is not None:
            raise _bad(QUERY_TOO_OLD.removeprefix("Bad Request: "))
        results = _json_param(params, "results", "can't parse inline query results JSON object")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > MAX_INLINE_RESULTS:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", "")) if isinstance(result, dict) else ""
            if not 1 <= len(result_id.encode()) <= MAX_RESULT_ID_BYTES:
                raise _bad("RESULT_ID_INVALID")
            if result_id in seen:
                raise _bad("RESULT_ID_DUPLICATE")
            seen.add(result_id)
            self._check_inline_result(result)
        with self._lock:
            query.results = copy.deepcopy(results)
        return True

    def _check_inline_result(self, result: dict[str, Any]) -> None:
        kind = result.get("type")
        if result.get("reply_markup") is not None:
            _inline_markup(json.dumps(result["reply_markup"]))
        if kind == "article":
            if not result.get("title"):
                raise _bad("ARTICLE_TITLE_EMPTY")
            content = result.get("input_message_content") or {}
            if not str(content.get("message_text", "")).strip():
                raise _bad("MESSAGE_EMPTY")
            return
        if kind not in _CACHED_RESULTS:
            raise _bad("RESULT_TYPE_INVALID")
        field, media = _CACHED_RESULTS[kind]
        with self._lock:
            record = self._files.get(str(result.get(field, "")))
        prefix = _FILE_ID_PREFIXES.get(media, "")
        if record is None or not record.file_id.startswith(prefix):
            raise TelegramError(400, WRONG_FILE_ID)

    def _inline_content(self, result: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, str]]:
        """What an inline result posts: its text, or its cached file (and caption)."""
        if result["type"] == "article":
            content = result["input_message_content"]
            source = str(content["message_text"]), str(content.get("parse_mode") or "")
            return {"text": _plain_text(*source)}, source
        field, media = _CACHED_RESULTS[result["type"]]
        record = self._files[result[field]]
        source = str(result.get("caption") or ""), str(result.get("parse_mode") or "")
        message: dict[str, Any] = {
            media: {"file_id": record.file_id, "file_unique_id": record.file_unique_id},
            "date": int(time.time()),
        }
        if source[0]:
            message["caption"] = _caption(*source)
        return message, source

    async def _delete_message(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        chat_id = self._target_chat(params)
        message_id = _int_or_none(params.get("message_id"))
        with self._lock:
            if self._messages.pop((chat_id, message_id or 0), None) is None:
                raise _bad("message to delete not found")
        return True

    async def _answer_callback_query(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        if len(params.get("text", "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        with self._lock:
            query_id = params.get("callback_query_id", "")
            if query_id not in self._callback_queries:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            self._callback_queries.discard(query_id)  # a query is answered once
        return True

    async def _get_file(self, params: dict[str, str], files: dict[str, UploadedFile]) -> Any:
        with self._lock:
            record = self._files.get(params.get("file_id", ""))
        if record is None:
            raise _bad("invalid file_id")
        if not self.local_mode and record.size > CLOUD_DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        return {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
            "file_path": self._file_path(record),
        }

    def _file_path(self, record: _FileRecord) -> str:
        if self.local_mode:
            return str(record.path)
        return f"files/{record.file_unique_id}{Path(record.file_name).suffix}"

    # -- media ---------------------------------------------------------------------------------

    async def _send_media(
        self,
        kind: str,
        method: str,
        params: dict[str, str],
        files: dict[str, UploadedFile],
    ) -> Any:
        chat_id = self._target_chat(params)
        caption_source = params.get("caption", "")
        parse_mode = params.get("parse_mode", "")
        caption = _caption(caption_source, parse_mode)
        spec = {key: value for key, value in params.items() if key != "chat_id"}
        for name in (kind, "thumbnail"):  # a part named like the parameter is the upload too
            if name not in spec and name in files:
                spec[name] = f"attach://{name}"
        if not spec.get(kind):
            raise _bad(f"there is no {kind} in the request")
        content, item = await self._media_content(kind, spec[kind], spec, files)
        if caption:
            content["caption"] = caption
        message = self._post(chat_id, params, content, (caption_source, parse_mode))
        self._record_media(method, kind, chat_id, message, item, spec, caption or None, None)
        return message

    async def _send_media_group(
        self, params: dict[str, str], files: dict[str, UploadedFile]
    ) -> Any:
        chat_id = self._target_chat(params)
        if "media" not in params:
            raise _bad('parameter "media" is required')
        try:
            media = json.loads(params["media"])
        except json.JSONDecodeError as exc:
            raise _bad("can't parse media JSON object") from exc
        if not isinstance(media, list):
            raise _bad("expected an Array of InputMedia")
        if len(media) > 10:
            raise _bad("Too much messages to send as an album")
        if len(media) < 2:
            raise _bad("media group must have 2-10 items")
        kinds = {str(item.get("type")) for item in media}
        if len(kinds) > 1 and not kinds <= {"photo", "video"}:
            raise _bad("audio and documents can be grouped only with items of the same type")
        prepared = []
        for item in media:
            kind = str(item.get("type"))
            if kind not in ("photo", "video", "audio", "document"):
                raise _bad("can't parse InputMedia: unsupported media type")
            spec = {key: _as_param(value) for key, value in item.items()}
            if not spec.get("media"):
                raise _bad("can't parse InputMedia: media not found")
            prepared.append(
                (kind, spec, await self._media_content(kind, spec["media"], spec, files))
            )
        group_id = str(next(self._media_groups))
        messages = []
        for kind, spec, (content, record) in prepared:
            caption_source = spec.get("caption", "")
            caption = _caption(caption_source, spec.get("parse_mode", ""))
            if caption:
                content["caption"] = caption
            message = self._post(
                chat_id, params, content, (caption_source, spec.get("parse_mode", "")), group_id
            )
            self._record_media(
                "sendMediaGroup", kind, chat_id, message, record, spec, caption or None, group_id
            )
            messages.append(message)
        return messages

    async def _media_content(
        self, kind: str, value: str, spec: dict[str, str], files: dict[str, UploadedFile]
    ) -> tuple[dict[str, Any], tuple[_FileRecord, bool]]:
        """The message content for one media item, and (its file record, uploaded now?)."""
        record, uploaded = await self._resolve_file(kind, value, spec, files)
        thumbnail = self._thumbnail(spec, files)
        if kind == "photo":
            return {"photo": [_photo_size(record)]}, (record, uploaded)
        obj: dict[str, Any] = {
            "file_id": record.file_id,
            "file_unique_id": record.file_unique_id,
            "file_size": record.size,
            "file_name": record.file_name,
            "mime_type": record.mime_type,
        }
        if kind == "video":
            obj.update(
                width=_int_or_none(spec.get("width")) or record.width,
                height=_int_or_none(spec.get("height")) or record.height,
                duration=_int_or_none(spec.get("duration")) or record.duration,
            )
        elif kind == "audio":
            obj["duration"] = _int_or_none(spec.get("duration")) or record.duration
            for key in ("performer", "title"):
                if spec.get(key):
                    obj[key] = spec[key]
        if thumbnail is not None:
            obj["thumbnail"] = thumbnail
        return {kind: obj}, (record, uploaded)

    async def _resolve_file(
        self, kind: str, value: str, spec: dict[str, str], files: dict[str, UploadedFile]
    ) -> tuple[_FileRecord, bool]:
        if value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad("can't parse InputMedia: media not found")
            if upload.size == 0:
                raise _bad("file must be non-empty")
            return await self._register(kind, upload.path, upload.filename, upload.size, spec), True
        if value.startswith("file://"):
            if not self.local_mode:
                raise TelegramError(400, WRONG_FILE_ID)
            source = Path(unquote(urlsplit(value).path))
            size = await asyncio.to_thread(_size_of_file, source)
            if size is None:
                raise TelegramError(400, WRONG_FILE_ID)
            if size > self.effective_upload_limit:
                raise TelegramError(413, "Request Entity Too Large")
            copied = self._uploads / f"{next(self._upload_numbers):05d}-{source.name}"
            try:  # a hard link survives the bot deleting its file right after sending
                os.link(source, copied)
            except OSError:
                await asyncio.to_thread(shutil.copyfile, source, copied)
            return await self._register(kind, copied, source.name, size, spec), True
        with self._lock:
            record = self._files.get(value)
        if record is None:
            raise TelegramError(400, WRONG_FILE_ID)
        return record, False

    async def _register(
        self, kind: str, path: Path, file_name: str, size: int, spec: dict[str, str]
    ) -> _FileRecord:
        mime = mimetypes.guess_type(file_name)[0] or {
            "video": "video/mp4",
            "audio": "audio/mpeg",
            "photo": "image/jpeg",
        }.get(kind, "application/octet-stream")
        # Telegram measures what the client did not state; probing is skipped when it did.
        stated = {"video": ("width", "height", "duration"), "audio": ("duration",)}.get(kind, ())
        needs_probe = kind == "photo" or any(not spec.get(key) for key in stated)
        width, height, duration = await _probe(path) if needs_probe else (0, 0, 0)
        prefix = {"video": "BAACAgIAAxkD", "audio": "CQACAgIAAxkD", "photo": "AgACAgIAAxkD"}
        record = _FileRecord(
            file_id=prefix.get(kind, "BQACAgIAAxkD") + secrets.token_urlsafe(24),
            file_unique_id="AgAD" + secrets.token_urlsafe(8),
            path=path,
            size=size,
            file_name=file_name,
            mime_type=mime,
            width=width,
            height=height,
            duration=duration,
        )
        with self._lock:
            self._files[record.file_id] = record
        return record

    def _thumbnail(
        self, spec: dict[str, str], files: dict[str, UploadedFile]
    ) -> dict[str, Any] | None:
        value = spec.get("thumbnail", "")
        upload = (
            files.get(value.removeprefix("attach://")) if value.startswith("attach://") else None
        )
        if upload is None or not 0 < upload.size <= THUMBNAIL_MAX_BYTES:
            return None  # Telegram silently ignores a missing or oversized thumbnail
        return {
            "file_id": "AAMCAgADGQMAA" + secrets.token_urlsafe(16),
            "file_unique_id": "AQAD" + secrets.token_urlsafe(6),
            "file_size": upload.size,
            "width": 320,
            "height": 180,
        }

    def _record_media(
        self,
        method: str,
        kind: str,
        chat_id: int,
        message: dict[str, Any],
        item: tuple[_FileRecord, bool],
        spec: dict[str, str],
        caption: str | None,
        media_group_id: str | None,
    ) -> None:
        record, uploaded = item
        streaming = spec.get("supports_streaming")
        sent = SentMedia(
            method=method,
            kind=kind,
            chat_id=chat_id,
            message_id=message["message_id"],
            file_id=record.file_id,
            file_unique_id=record.file_unique_id,
            path=record.path,
            size=record.size,
            uploaded=uploaded,
            width=_int_or_none(spec.get("width")),
            height=_int_or_none(spec.get("height")),
            duration=_int_or_none(spec.get("duration")),
            supports_streaming=None if streaming is None else streaming == "true",
            caption=caption,
            has_thumbnail=bool(spec.get("thumbnail")),
            media_group_id=media_group_id,
        )
        with self._lock:
            self._media.append(sent)


# -- small pure helpers -------------------------------------------------------------------------

_MEDIA_KEYS = ("photo", "video", "audio", "document")


def _album_kind(kind: str) -> str:
    """What an album of `kind` holds: audio, documents, or photos and videos together."""
    return kind if kind in ("audio", "document") else "visual"


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except ValueError:
        return None


def _size_of_file(path: Path) -> int | None:
    return path.stat().st_size if path.is_file() else None


def _as_param(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _json_param(params: dict[str, str], name: str, error: str) -> Any:
    try:
        return json.loads(params.get(name) or "[]")
    except json.JSONDecodeError as exc:
        raise _bad(error) from exc


def _caption(source: str, parse_mode: str) -> str:
    caption = _plain_text(source, parse_mode) if source else ""
    if _utf16_length(caption) > MAX_CAPTION:
        raise _bad("message caption is too long")
    return caption


def _reply_to(params: dict[str, str]) -> int | None:
    if "reply_parameters" in params:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            return int(json.loads(params["reply_parameters"]).get("message_id"))
    return _int_or_none(params.get("reply_to_message_id"))


def _inline_markup(raw: str | None) -> dict[str, Any] | None:
    """The inline keyboard as a Message carries it (None for none, or for a reply keyboard)."""
    if not raw:
        return None
    try:
        markup = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad("can't parse reply keyboard markup JSON object") from exc
    if not isinstance(markup, dict):
        raise _bad("object expected as reply markup")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return None
    for row in rows:
        for button in row:
            if not button.get("text"):
                raise _bad(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
    return {"inline_keyboard": rows}


def _update_type(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _queue_of(update: dict[str, Any]) -> int:
    """The queue Telegram delivers an update in (its chat's, or its user's), one at a time."""
    body = update[_update_type(update)]
    chat = body.get("chat") or (body.get("message") or {}).get("chat")
    if chat is not None:
        return int(chat["id"])
    if "from" in body:
        return int(body["from"]["id"])
    return -int(update["update_id"])


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _photo_size(record: _FileRecord) -> dict[str, Any]:
    return {
        "file_id": record.file_id,
        "file_unique_id": record.file_unique_id,
        "file_size": record.size,
        "width": record.width,
        "height": record.height,
    }


async def _probe(path: Path) -> tuple[int, int, int]:
    """(width, height, whole seconds) of a media file by ffprobe; zeros when it cannot tell."""
    if shutil.which("ffprobe") is None:
        return 0, 0, 0
    process = await asyncio.create_subprocess_exec(
        *("ffprobe", "-v", "error", "-of", "json", str(path)),
        *("-show_entries", "stream=width,height:format=duration"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 15)
    except TimeoutError:
        process.kill()
        return 0, 0, 0
    try:
        facts = json.loads(out or b"{}")
    except json.JSONDecodeError:
        return 0, 0, 0
    sized: dict[str, Any] = next((s for s in facts.get("streams", []) if s.get("width")), {})
    duration = float(facts.get("format", {}).get("duration") or 0)
    return int(sized.get("width", 0)), int(sized.get("height", 0)), round(duration)
