"""The one settings object, read from the environment once at start-up.

The variable names are a public contract: operators, the README and the deployment
files use them. A bad value stops the process with a message naming the variable.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CLOUD_UPLOAD_LIMIT_MB = 50
LOCAL_UPLOAD_LIMIT_MB = 2000
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""What Telegram accepts as a webhook's `secret_token`."""


class LogFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


class ConfigError(Exception):
    """The environment holds a missing or invalid setting; the message names it."""


class Settings(BaseSettings):
    """Every knob of mediabot, validated; see the README for the table of variables."""

    model_config = SettingsConfigDict(
        env_file=None, case_sensitive=False, extra="ignore", frozen=True
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_api_local: bool = False
    telegram_upload_limit_mb: int | None = Field(default=None, gt=0)

    database_url: str | None = None
    amqp_url: SecretStr | None = None
    data_dir: Path = Path("./data")

    allow_private_urls: bool = False
    allowed_private_networks: Annotated[tuple[str, ...], NoDecode] = ()
    lookup_timeout_s: float = Field(default=90.0, gt=0)
    stall_timeout_s: float = Field(default=30.0, gt=0)
    min_transfer_kbps: float = Field(default=4.0, ge=0)
    min_transfer_window_s: float = Field(default=60.0, gt=0)
    max_running_per_user: int = Field(default=1, ge=1, le=64)
    max_active_requests: int = Field(default=3, ge=1, le=100)
    min_free_disk_mb: int = Field(default=500, ge=0)
    worker_concurrency: int = Field(default=2, ge=1, le=64)
    worker_cached_concurrency: int = Field(default=8, ge=1, le=256)
    worker_lookup_concurrency: int = Field(default=16, ge=1, le=256)
    """Lookup requests one worker process works on at once (most of them wait for a
    lookup process or for another worker's lookup of the same link)."""
    lookup_processes: int | None = Field(default=None, ge=1, le=64)
    """Processes one worker runs its lookups in; None: one per core it may use (its CPU
    affinity, capped by its cgroup's CPU quota)."""
    max_duration_min: int = Field(default=180, gt=0)
    playlist_max_items: int = Field(default=50, ge=1, le=1000)
    youtube_cookies_file: Path | None = None
    instagram_cookies_file: Path | None = None
    proxy_url: SecretStr | None = None
    youtube_proxy_url: SecretStr | None = None
    instagram_proxy_url: SecretStr | None = None
    youtube_pot_provider_url: str | None = None

    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0:8080"
    webhook_secret: SecretStr | None = None
    update_lease_s: float = Field(default=30.0, ge=2.0)
    """How long a bot process's claim on an update holds without renewal (it is renewed
    while the update is handled): an update whose process died is handled by Telegram's
    next delivery of it after this."""

    publish_timeout_s: float = Field(default=30.0, gt=0)
    """How long a publish to RabbitMQ is retried before it fails: the bot then holds the
    update (a press stays queued and is published when the broker is back)."""

    job_max_attempts: int = Field(default=4, ge=1, le=20)
    job_lease_s: float = Field(default=120.0, ge=2.0)
    shutdown_grace_s: float = Field(default=30.0, ge=0)

    metrics_port: int | None = Field(default=None, ge=1, le=65535)

    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT

    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    allowed_user_ids: Annotated[tuple[int, ...], NoDecode] = ()
    allowed_chat_ids: Annotated[tuple[int, ...], NoDecode] = ()
    rate_limit_per_hour: int = Field(default=30, ge=1)
    storage_chat_id: int | None = None
    """Inline mode: the chat (a private channel or group) files are uploaded to before the
    inline message is edited into them; None: inline mode is not configured."""

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("admin_ids", "allowed_user_ids", "allowed_chat_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("allowed_private_networks", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part for part in value.replace(" ", "").split(",") if part)
        if isinstance(value, tuple | list):
            for part in value:
                ipaddress.ip_network(str(part), strict=False)  # ValueError names the bad one
            return tuple(str(part) for part in value)
        return value

    @field_validator("proxy_url", "youtube_proxy_url", "instagram_proxy_url", mode="before")
    @classmethod
    def _http_proxy(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            parts = urlsplit(value.strip())
            if parts.scheme != "http" or not parts.hostname or not parts.port:
                raise ValueError("must be an HTTP proxy URL: http://[user:password@]host:port")
            return value.strip()
        return value

    @field_validator("youtube_pot_provider_url", mode="before")
    @classmethod
    def _service_url(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            if not value.strip().startswith(("http://", "https://")):
                raise ValueError("must start with http:// or https://")
            return value.strip().rstrip("/")
        return value

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            parts = urlsplit(value.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be the public URL Telegram posts to: https://host/path")
            return value.strip()
        return value

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            if not _WEBHOOK_SECRET.fullmatch(value.strip()):
                raise ValueError("must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -")
            return value.strip()
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value[len("sqlite://") :]
        if not value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            raise ValueError("must be a postgresql:// or sqlite:// URL")
        return value

    @model_validator(mode="after")
    def _empty_amqp_is_unset(self) -> Settings:
        if self.amqp_url is not None and not self.amqp_url.get_secret_value().strip():
            object.__setattr__(self, "amqp_url", None)
        return self

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

    @property
    def webhook_secret_token(self) -> str:
        """The secret Telegram sends with each webhook post: `WEBHOOK_SECRET`, or one derived
        from the token, so every process of the bot checks the same one without setting it."""
        if self.webhook_secret is not None:
            return self.webhook_secret.get_secret_value()
        token = self.require_token().encode()
        return hashlib.sha256(b"mediabot webhook secret:" + token).hexdigest()

    def require_token(self) -> str:
        """The bot token, or a `ConfigError` when it is not set."""
        if self.bot_token is None or not self.bot_token.get_secret_value():
            raise ConfigError("BOT_TOKEN is required: set it to the token @BotFather gave you")
        return self.bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read the environment into `Settings`, turning validation errors into `ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]).upper() if error["loc"] else "settings"
            problems.append(f"{name}: {error['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
