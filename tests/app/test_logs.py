"""Log lines are safe to show: outside control characters escaped, URL credentials masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from mediabot.app.logs import configure_logging, safe_log_text
from mediabot.config import LogFormat, load_settings

TOKEN = "123456:SECRETSECRETSECRETSECRET"


@pytest.fixture
def log_stream() -> Iterator[tuple[io.StringIO, logging.Logger]]:
    """Logging configured as a process does, on a string stream; restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    yield stream, logging.getLogger("mediabot.test")
    root.handlers[:] = handlers
    root.setLevel(level)


def _configure(stream: io.StringIO, log_format: LogFormat) -> None:
    configure_logging(load_settings(bot_token=TOKEN, log_format=log_format), stream)


@pytest.mark.parametrize("log_format", [LogFormat.TEXT, LogFormat.JSON])
def test_control_characters_from_outside_are_escaped(
    log_stream: tuple[io.StringIO, logging.Logger], log_format: LogFormat
) -> None:
    stream, logger = log_stream
    _configure(stream, log_format)
    url = "https://example.com/a\x1b[2Jb\rc\nFAKE 00:00 INFO forged\u202eevil\x9bq\x00\u200bz"
    logger.info("job %s: refused %s", "x", url)
    logger.warning("second")
    written = stream.getvalue()
    assert written.count("\n") == 2, "one line per record"
    for raw in ("\x1b", "\r", "\u202e", "\x9b", "\x00", "\u200b"):
        assert raw not in written
    first = written.splitlines()[0]
    if log_format is LogFormat.JSON:
        first = json.loads(first)["message"]
    assert "a\\x1b[2Jb\\rc\\nFAKE" in first
    assert "forged\\u202eevil\\x9bq\\x00\\u200bz" in first


@pytest.mark.parametrize("log_format", [LogFormat.TEXT, LogFormat.JSON])
def test_credentials_in_urls_and_the_token_are_masked(
    log_stream: tuple[io.StringIO, logging.Logger], log_format: LogFormat
) -> None:
    stream, logger = log_stream
    _configure(stream, log_format)
    logger.info("refused https://user:pass@host.example/x and amqp://guest:guest@rabbit/vh")
    logger.info("token %s in a URL", f"https://api.telegram.org/bot{TOKEN}/getMe")
    written = stream.getvalue()
    assert "user:pass" not in written and "guest:guest" not in written
    assert "https://***@host.example/x" in written and "amqp://***@rabbit/vh" in written
    assert TOKEN not in written


def test_credentials_in_quoted_authorization_headers_are_masked() -> None:
    """An HTTP client's error may show the request it made (aiohttp's repr does)."""
    quoted = (
        "ClientHttpProxyError(RequestInfo(headers=<CIMultiDictProxy('Host': 'a.example', "
        "'Proxy-Authorization': 'Basic bWVkaWFib3Q6c2VjcmV0'>), status=403)"
    )
    masked = safe_log_text(quoted)
    assert "bWVkaWFib3Q6c2VjcmV0" not in masked
    assert "'Proxy-Authorization': 'Basic ***'>" in masked
    assert safe_log_text("Authorization: Bearer abc.def-ghi") == "Authorization: Bearer ***"
    assert safe_log_text("Basic information, no authorization asked") == (
        "Basic information, no authorization asked"
    )


def test_a_traceback_keeps_its_lines_but_is_escaped_and_masked(
    log_stream: tuple[io.StringIO, logging.Logger],
) -> None:
    stream, logger = log_stream
    _configure(stream, LogFormat.TEXT)
    try:
        raise ValueError("bad https://u:p@h/\x1b[31mred")
    except ValueError:
        logger.exception("job x: unexpected failure")
    written = stream.getvalue()
    assert "Traceback (most recent call last):\n" in written
    assert "\x1b" not in written and "u:p@" not in written
    assert "https://***@h/\\x1b[31mred" in written


def test_safe_log_text_leaves_ordinary_text_alone() -> None:
    text = "job 1: délivré «Ünïcode» 🎬 https://example.com/watch?v=a@b user@example.com"
    assert safe_log_text(text) == text
    assert safe_log_text("a\tb\nc", keep_lines=True) == "a\tb\nc"
    assert safe_log_text("a\tb\nc") == "a\\tb\\nc"
