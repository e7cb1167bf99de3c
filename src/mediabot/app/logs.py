"""Logging set-up: one line per event, text or JSON, with the bot token never shown.

Log lines quote outside text (links, titles, Telegram's and yt-dlp's errors), so every
line is made safe for the operator's terminal and log store before it is written:

- control characters (C0 including newlines, DEL, C1), the bidirectional and zero-width
  characters (`domain.invisible.INVISIBLE`) in a message become visible escapes (``\\x1b``,
  ``\\n``, ``\\u202e``, ``\\u200b``): none is in a line unseen, an ``ESC[2J`` in a
  link cannot clear the terminal, a newline in a title cannot forge a second record;
- credentials in URLs are masked (``https://user:pass@host`` -> ``https://***@host``);
- tracebacks keep their line structure (newlines and tabs) but are escaped and masked
  the same way otherwise.

Only the newline that ends a record is written raw.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from mediabot.config import LogFormat, Settings
from mediabot.domain.invisible import INVISIBLE

_REDACTED = "<redacted>"
_TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{INVISIBLE}]")
_CONTROL_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{INVISIBLE}]")
"""Tracebacks keep their newlines and tabs; a carriage return is escaped even there."""
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@]+@")
_HEADER_CREDENTIALS = re.compile(
    r"(?i)(authorization[\"']?\s*[:=,]\s*[\"']?\s*(?:basic|bearer|digest)\s+)[^\s\"',]+"
)
"""An `Authorization` or `Proxy-Authorization` header quoted in a message (an HTTP client's
error showing the request it made, as aiohttp's repr does): its credentials are masked too."""
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED_ESCAPES.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_log_text(text: str, *, keep_lines: bool = False) -> str:
    """`text` with control characters escaped and URL credentials masked.

    With `keep_lines`, newlines and tabs stay (for tracebacks, whose lines are theirs).
    """
    masked = _HEADER_CREDENTIALS.sub(r"\1***", _URL_CREDENTIALS.sub(r"\1***@", text))
    return (_CONTROL_BUT_LINES if keep_lines else _CONTROL).sub(_escape, masked)


class _RedactSecrets(logging.Filter):
    """Replaces secrets (the bot token, broker passwords) wherever they appear in a record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, _REDACTED)
            record.msg, record.args = message, None
        return True


class _SafeTextFormatter(logging.Formatter):
    """The text format, with the message and any traceback made safe (see the module)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = safe_log_text(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return safe_log_text(super().formatException(ei), keep_lines=True)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return safe_log_text(super().formatStack(stack_info), keep_lines=True)


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": safe_log_text(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = safe_log_text(
                self.formatException(record.exc_info), keep_lines=True
            )
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every log line to `stream` (stderr) in the configured format and level."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    if settings.log_format is LogFormat.JSON:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_SafeTextFormatter(_TEXT_FORMAT))
    secrets = []
    if settings.bot_token is not None:
        secrets.append(settings.bot_token.get_secret_value())
    handler.addFilter(_RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # aiogram logs every update at INFO; keep the signal for our own events.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aio_pika").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aiormq").setLevel(max(logging.WARNING, root.level))
    for noisy in ("alembic.runtime.plugins", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
