"""What a process checks before it starts, and `mediabot health`.

Each check either passes or raises `StartupError` with one line that says what is wrong
and what to do: the database or the broker does not answer, the schema is behind, ffmpeg
is missing, Telegram refuses the token. Telegram out of reach is waited for (with growing
pauses, each one said), since that is usually the network coming up.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable

import aio_pika
from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.app.errors import StartupError
from mediabot.app.logs import safe_log_text
from mediabot.config import Settings
from mediabot.db.engine import create_engine
from mediabot.db.migrate import alembic_config
from mediabot.domain.retry import Backoff

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
TELEGRAM_RETRY_BASE_S = 5.0
TELEGRAM_RETRY_MAX_S = 120.0
REQUIRED_TOOLS = ("ffmpeg", "ffprobe")

Sleep = Callable[[float], Awaitable[None]]


def check_tools() -> None:
    """ffmpeg and ffprobe are on PATH (every download, cut and probe needs them)."""
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        raise StartupError(
            f"{' and '.join(missing)} not found on PATH: install ffmpeg "
            "(Debian/Ubuntu: apt-get install ffmpeg)"
        )


def _label(url: str) -> str:
    """A URL for a message: credentials masked, control characters escaped."""
    return safe_log_text(url)


def _schema_revisions(connection: Connection) -> tuple[str | None, str | None]:
    current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    return current, head


async def check_database(engine: AsyncEngine, *, schema: bool = True) -> str:
    """The database answers and (with `schema`) its schema is the one this code needs.

    Returns the schema's revision.
    """
    label = _label(engine.url.render_as_string(hide_password=False))
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S), engine.connect() as connection:
            current, head = await connection.run_sync(_schema_revisions)
    except TimeoutError:
        raise StartupError(
            f"database at {label} does not answer within {CONNECT_TIMEOUT_S:.0f} s"
        ) from None
    except (OSError, OperationalError, InterfaceError, DBAPIError) as exc:
        raise StartupError(f"database at {label} unreachable: {_reason(exc)}") from None
    if schema and current != head:
        raise StartupError(
            f"database schema is at {current or 'nothing'}, this mediabot needs {head}: "
            "run `mediabot migrate`"
        )
    return current or "nothing"


async def check_broker(url: str) -> None:
    """RabbitMQ answers at `url` (a connection opened and closed)."""
    label = _label(url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            connection = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT_S)
            await connection.close()
    except TimeoutError:
        raise StartupError(
            f"RabbitMQ at {label} does not answer within {CONNECT_TIMEOUT_S:.0f} s"
        ) from None
    except (OSError, aio_pika.exceptions.AMQPError) as exc:
        raise StartupError(f"RabbitMQ at {label} unreachable: {_reason(exc)}") from None


async def check_telegram(bot: Bot, api_url: str, *, sleep: Sleep = asyncio.sleep) -> str:
    """Telegram accepts the token; returns the bot's username.

    A refused token ends the start at once; an unreachable server is tried again with
    growing pauses (each one logged with the URL) until it answers.
    """
    backoff = Backoff(TELEGRAM_RETRY_BASE_S, TELEGRAM_RETRY_MAX_S)
    failures = 0
    while True:
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise StartupError(
                f"Telegram ({api_url}) refused BOT_TOKEN as unauthorized: "
                "set it to the token @BotFather gave you",
                exit_code=2,
            ) from None
        except TelegramNetworkError as exc:
            failures += 1
            delay = backoff.delay_s(failures)
            logger.error(
                "Telegram unreachable at %s (%s); trying again in %.0f s",
                api_url,
                _reason(exc).replace(bot.token, "<token>"),
                delay,
            )
            await sleep(delay)
            continue
        return me.username or str(me.id)


async def health_command(settings: Settings) -> int:
    """`mediabot health`: one line, exit 0 when all answer (a `StartupError` otherwise)."""
    print(f"mediabot: healthy: {await health(settings)}")
    return 0


async def health(settings: Settings) -> str:
    """What `mediabot health` checks: the database and its schema, the broker if any.

    Returns one line saying what answered; raises `StartupError` otherwise.
    """
    engine = create_engine(settings.effective_database_url)
    try:
        revision = await check_database(engine)
    finally:
        await engine.dispose()
    parts = [f"database ok (schema {revision})"]
    if settings.amqp_url is not None:
        await check_broker(settings.amqp_url.get_secret_value())
        parts.append("RabbitMQ ok")
    return "; ".join(parts)


def _reason(exc: BaseException) -> str:
    """The innermost cause in one line (drivers wrap the socket's own words)."""
    while exc.__cause__ is not None or (
        exc.__context__ is not None and not exc.__suppress_context__
    ):
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
