"""Telling the database away from a statement's own failure: the shapes a stopped, starting
or failed-over PostgreSQL really takes, and the failures that are not an outage."""

from __future__ import annotations

import errno
import socket

import asyncpg
import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from mediabot.db.engine import create_engine
from mediabot.db.outages import database_unavailable
from tests.support.postgres_cluster import PostgresCluster


class _DriverError(Exception):
    """A driver error as SQLAlchemy's asyncpg adapter shapes it: with the SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", None, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    "error",
    [
        _wrapped(_DriverError("connection was closed in the middle of operation", "08003")),
        _wrapped(Exception("terminating connection"), invalidated=True),
        _wrapped(_DriverError("the database system is starting up", "57P03")),
        _wrapped(_DriverError("terminating connection due to administrator command", "57P01")),
        _wrapped(_DriverError("sorry, too many clients already", "53300")),
        _wrapped(_DriverError("cannot execute UPDATE in a read-only transaction", "25006")),
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
        ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"),
        ConnectionResetError(errno.ECONNRESET, "reset by peer"),
        socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
        OSError(errno.EHOSTUNREACH, "No route to host"),
        PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached"),
    ],
    ids=repr,
)
def test_an_unreachable_database_is_recognised(error: BaseException) -> None:
    assert database_unavailable(error)


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("INSERT", None, _DriverError("duplicate key", "23505")),
        OperationalError("SELECT", None, _DriverError("division by zero", "22012")),
        _wrapped(Exception("syntax error at or near SELEC")),
        ValueError("a bug"),
        FileNotFoundError(errno.ENOENT, "No such file"),
        TimeoutError(),
        # Telegram unreachable is not the database unreachable.
        _raised_from(
            TelegramNetworkError(GetMe(), "connection refused"),
            ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        ),
    ],
    ids=repr,
)
def test_other_failures_are_not_an_outage(error: BaseException) -> None:
    assert not database_unavailable(error)


async def _error_of(
    engine_url: str, *, hold_a_connection: bool, cluster: PostgresCluster
) -> Exception:
    """What a statement raises once the server stopped (on a connection it held, or a new one)."""
    engine = create_engine(engine_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            if hold_a_connection:
                cluster.stop()
                with pytest.raises(Exception) as raised:
                    await connection.execute(text("SELECT 1"))
                return raised.value
        cluster.stop()
        with pytest.raises(Exception) as raised:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return raised.value
    finally:
        cluster.start()
        await engine.dispose()


@pytest.mark.integration
@pytest.mark.parametrize("hold_a_connection", [True, False], ids=["in use", "new"])
async def test_a_stopped_server_is_recognised_on_a_connection_in_use_or_new(
    postgres_cluster: PostgresCluster, hold_a_connection: bool
) -> None:
    error = await _error_of(
        postgres_cluster.url(), hold_a_connection=hold_a_connection, cluster=postgres_cluster
    )
    assert database_unavailable(error), repr(error)
