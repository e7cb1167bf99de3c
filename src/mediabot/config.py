"""The one settings object, read from the environment once at start-up.

The variable names are a public contract: operators, the README and the deployment
files use them. A bad value stops the process with a message naming the variable.

Plain Python on purpose: every `mediabot` command reads the settings before anything
else, and pydantic-settings cost 70-100 ms of start-up (close to half of what `mediabot
download` used to take over plain yt-dlp). The coercion rules are pydantic's lax ones,
so values keep meaning what they meant: booleans `1/0/true/false/yes/no/on/off/t/f/y/n`,
integers from `"5"` or `"5.0"`, numbers, paths, and the enum's exact values.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

CLOUD_UPLOAD_LIMIT_MB = 50
LOCAL_UPLOAD_LIMIT_MB = 2000


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class ConfigError(Exception):
    """The environment holds a missing or invalid setting; the message names it."""


class SecretStr:
    """A string kept out of reprs, logs and error messages; `get_secret_value()` reveals it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)


Converter = Callable[[object], object]
"""Turns a raw value (environment text, or a Python value given in code) into the setting;
raises `ValueError` with a message that does not repeat the value (it may be a secret)."""


@dataclass(frozen=True, slots=True)
class SettingField:
    """One setting: its default (used as is) and how a given value is validated."""

    default: object
    convert: Converter


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
    raise ValueError("Input should be a valid boolean, unable to interpret input")


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError("Input should be a valid integer, got a number with a fractional part")
    if isinstance(value, str):
        # "5.0" is a valid integer (as in pydantic), "5.5" and "1e3" are not
        whole, point, fraction = value.strip().partition(".")
        if not point or (fraction and not fraction.strip("0")):
            try:
                return int(whole)
            except ValueError:
                pass
        raise ValueError("Input should be a valid integer, unable to parse string as an integer")
    raise ValueError("Input should be a valid integer")


def _as_float(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        raise ValueError("Input should be a valid number, unable to parse string as a number")
    raise ValueError("Input should be a valid number")


def _bounded(
    parse: Callable[[object], float],
    *,
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
) -> Converter:
    def convert(value: object) -> object:
        number = parse(value)
        if gt is not None and not number > gt:
            raise ValueError(f"Input should be greater than {gt:g}")
        if ge is not None and not number >= ge:
            raise ValueError(f"Input should be greater than or equal to {ge:g}")
        if le is not None and not number <= le:
            raise ValueError(f"Input should be less than or equal to {le:g}")
        return number

    return convert


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("Input should be a valid string")
    return value


def _secret(value: object) -> SecretStr:
    if isinstance(value, SecretStr):
        return value
    return SecretStr(_text(value))


def _path(value: object) -> Path:
    if isinstance(value, Path):
        return value
    return Path(_text(value))


def _optional(convert: Converter) -> Converter:
    def optional(value: object) -> object:
        return None if value is None else convert(value)

    return optional


def _log_format(value: object) -> LogFormat:
    if isinstance(value, LogFormat):
        return value
    for member in LogFormat:
        if value == member.value:
            return member
    raise ValueError("Input should be 'text' or 'json'")


def _log_level(value: object) -> str:
    level = _text(value).upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return level


def _http_url(value: object) -> str:
    url = _text(value)
    if not url.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return url.rstrip("/")


def _database_url(value: object) -> str | None:
    if value is None or not _text(value).strip():
        return None
    url = _text(value)
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    if not url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise ValueError("must be a postgresql:// or sqlite:// URL")
    return url


def _blank_secret_is_unset(value: object) -> SecretStr | None:
    if value is None:
        return None
    secret = _secret(value)
    return secret if secret.get_secret_value().strip() else None


def _comma_separated_ids(value: object) -> tuple[int, ...]:
    if isinstance(value, str):
        return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
    if isinstance(value, list | tuple):
        return tuple(_as_int(item) for item in value)
    raise ValueError("Input should be a valid tuple")


FIELDS: Mapping[str, SettingField] = {
    "bot_token": SettingField(None, _optional(_secret)),
    "telegram_api_url": SettingField("https://api.telegram.org", _http_url),
    "telegram_api_local": SettingField(False, _boolean),
    "telegram_upload_limit_mb": SettingField(None, _optional(_bounded(_as_int, gt=0))),
    "database_url": SettingField(None, _database_url),
    "amqp_url": SettingField(None, _blank_secret_is_unset),
    "data_dir": SettingField(Path("./data"), _path),
    "allow_private_urls": SettingField(False, _boolean),
    "worker_concurrency": SettingField(2, _bounded(_as_int, ge=1, le=64)),
    "max_duration_min": SettingField(180, _bounded(_as_int, gt=0)),
    "youtube_cookies_file": SettingField(None, _optional(_path)),
    "instagram_cookies_file": SettingField(None, _optional(_path)),
    "webhook_url": SettingField(None, _optional(_text)),
    "webhook_listen": SettingField("0.0.0.0:8080", _text),
    "webhook_secret": SettingField(None, _optional(_secret)),
    "job_max_attempts": SettingField(4, _bounded(_as_int, ge=1, le=20)),
    "job_lease_s": SettingField(120.0, _bounded(_as_float, ge=2.0)),
    "shutdown_grace_s": SettingField(30.0, _bounded(_as_float, ge=0)),
    "log_level": SettingField("INFO", _log_level),
    "log_format": SettingField(LogFormat.TEXT, _log_format),
    "admin_ids": SettingField((), _comma_separated_ids),
}
"""Every setting by attribute name; its variable is the name in upper case."""


class Settings:
    """Every knob of mediabot, validated; see the README for the table of variables.

    `Settings()` reads the environment (variable names in any case); keyword arguments,
    by attribute name, take precedence, and unknown ones are ignored. A bad value raises
    `ConfigError` naming each bad variable, never echoing a value. Instances are immutable.
    """

    model_fields: ClassVar[Mapping[str, SettingField]] = FIELDS
    """The settings by attribute name (the name pydantic gave this, kept for callers)."""

    bot_token: SecretStr | None
    telegram_api_url: str
    telegram_api_local: bool
    telegram_upload_limit_mb: int | None

    database_url: str | None
    amqp_url: SecretStr | None
    data_dir: Path

    allow_private_urls: bool
    worker_concurrency: int
    max_duration_min: int
    youtube_cookies_file: Path | None
    instagram_cookies_file: Path | None

    webhook_url: str | None
    webhook_listen: str
    webhook_secret: SecretStr | None

    job_max_attempts: int
    job_lease_s: float
    shutdown_grace_s: float

    log_level: str
    log_format: LogFormat

    admin_ids: tuple[int, ...]

    def __init__(self, **values: object) -> None:
        environment = {name.lower(): value for name, value in os.environ.items()}
        problems: list[str] = []
        for name, field in FIELDS.items():
            if name in values:
                raw = values[name]
            elif name in environment:
                raw = environment[name]
            else:
                object.__setattr__(self, name, field.default)
                continue
            try:
                object.__setattr__(self, name, field.convert(raw))
            except ValueError as exc:
                problems.append(f"{name.upper()}: {exc}")
        if problems:
            raise ConfigError("invalid configuration: " + "; ".join(problems))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"settings are read once and not changed (tried to set {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"settings are read once and not changed (tried to delete {name})")

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in FIELDS)
        return f"Settings({shown})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in FIELDS)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, name) for name in FIELDS))

    @property
    def upload_limit_bytes(self) -> int:
        """The largest single upload Telegram accepts from this bot, in bytes."""
        if self.telegram_upload_limit_mb is not None:
            megabytes = self.telegram_upload_limit_mb
        elif self.telegram_api_local:
            megabytes = LOCAL_UPLOAD_LIMIT_MB
        else:
            megabytes = CLOUD_UPLOAD_LIMIT_MB
        return megabytes * 1024 * 1024

    @property
    def effective_database_url(self) -> str:
        """`DATABASE_URL`, or the embedded SQLite file under `DATA_DIR`."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'mediabot.db').resolve()}"

    @property
    def work_dir(self) -> Path:
        """Where jobs keep their temporary folders."""
        return self.data_dir / "work"

    @property
    def max_duration_s(self) -> int:
        return self.max_duration_min * 60

    def require_token(self) -> str:
        """The bot token, or a `ConfigError` when it is not set."""
        if self.bot_token is None or not self.bot_token.get_secret_value():
            raise ConfigError("BOT_TOKEN is required: set it to the token @BotFather gave you")
        return self.bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read the environment into `Settings`; an invalid value raises `ConfigError` naming it."""
    return Settings(**overrides)
