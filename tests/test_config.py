"""The environment contract: defaults, mapping, and errors that name the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mediabot.config import ConfigError, load_settings

VARIABLES = [
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "TELEGRAM_API_LOCAL",
    "TELEGRAM_UPLOAD_LIMIT_MB",
    "DATABASE_URL",
    "AMQP_URL",
    "DATA_DIR",
    "ALLOW_PRIVATE_URLS",
    "WORKER_CONCURRENCY",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "MAX_DURATION_MIN",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.upload_limit_bytes == 50 * 1024 * 1024
    assert settings.amqp_url is None
    assert settings.worker_concurrency == 2
    assert settings.publish_timeout_s == 30.0
    assert settings.effective_database_url == (
        f"sqlite+aiosqlite:///{tmp_path / 'data' / 'mediabot.db'}"
    )
    with pytest.raises(ConfigError, match="BOT_TOKEN"):
        settings.require_token()


def test_local_server_raises_the_upload_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_API_LOCAL", "true")
    assert load_settings().upload_limit_bytes == 2000 * 1024 * 1024
    monkeypatch.setenv("TELEGRAM_UPLOAD_LIMIT_MB", "10")
    assert load_settings().upload_limit_bytes == 10 * 1024 * 1024


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/mediabot", "postgresql+asyncpg://u:p@db:5432/mediabot"),
        ("postgres://u@db/mediabot", "postgresql+asyncpg://u@db/mediabot"),
        ("sqlite:////var/lib/mediabot.db", "sqlite+aiosqlite:////var/lib/mediabot.db"),
    ],
)
def test_database_url_is_mapped_to_async_drivers(
    monkeypatch: pytest.MonkeyPatch, given: str, expected: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings().effective_database_url == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKER_CONCURRENCY", "zero"),
        ("WORKER_CONCURRENCY", "0"),
        ("TELEGRAM_UPLOAD_LIMIT_MB", "-5"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://db/x"),
        ("TELEGRAM_API_URL", "ftp://x"),
        ("ALLOW_PRIVATE_URLS", "perhaps"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_the_token_never_shows_in_errors_or_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "123456:SECRET-token-value"
    monkeypatch.setenv("BOT_TOKEN", token)
    settings = load_settings()
    assert settings.require_token() == token
    assert token not in repr(settings)
    monkeypatch.setenv("WORKER_CONCURRENCY", token)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    assert token not in str(raised.value)


def test_the_command_stops_with_the_variable_named(tmp_path: Path) -> None:
    env = {**os.environ, "WORKER_CONCURRENCY": "many", "DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "mediabot", "migrate"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"WORKER_CONCURRENCY" in done.stderr
    assert not (tmp_path / "mediabot.db").exists()


def test_help_lists_the_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mediabot", "--help"], capture_output=True, timeout=60, check=True
    )
    for command in (b"run", b"bot", b"worker", b"migrate", b"formats", b"download"):
        assert command in done.stdout


def test_an_empty_webhook_url_means_long_polling() -> None:
    """Compose passes `WEBHOOK_URL=` when .env leaves it out."""
    assert load_settings(webhook_url="").webhook_url is None
    assert load_settings(webhook_url=" ").webhook_url is None
    with pytest.raises(ConfigError, match="WEBHOOK_URL"):
        load_settings(webhook_url="bot.example.org/hook")


def test_a_webhook_secret_telegram_would_refuse_is_named() -> None:
    assert load_settings(webhook_secret="ok_Secret-1").webhook_secret_token == "ok_Secret-1"
    for refused in ("has space", "semi;colon", "x" * 257):
        with pytest.raises(ConfigError, match="WEBHOOK_SECRET"):
            load_settings(webhook_secret=refused)


def test_without_a_webhook_secret_every_process_derives_the_same_one() -> None:
    """Posts are checked even when WEBHOOK_SECRET is not set: the secret comes from the
    token, which all processes of the bot share, and gives nothing of it away."""
    token = "123456:AAsecret-token"
    derived = load_settings(bot_token=token).webhook_secret_token
    assert derived == load_settings(bot_token=token).webhook_secret_token
    assert derived != load_settings(bot_token="123456:AAanother").webhook_secret_token
    assert len(derived) == 64 and derived.isalnum()
    assert "AAsecret" not in derived
