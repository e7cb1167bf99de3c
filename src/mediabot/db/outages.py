"""Telling "the database cannot be reached right now" from a statement's own failure.

PostgreSQL away for a while (a restart, an upgrade, a managed failover, the network between)
shows in several shapes: a pooled connection the server closed ("terminating connection due
to administrator command": SQLAlchemy marks it invalidated), a refused or reset socket while
connecting, "the database system is starting up / shutting down", a standby that does not
take writes yet. Work interrupted by any of these may be done again once the server answers;
any other error (a constraint, a syntax error, a bug) would fail the same way again and is
not one of them.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, DisconnectionError, EmulatedDBAPIException, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

_UNAVAILABLE_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown: the server is stopping (fast shutdown, a restart)
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: starting up, shutting down, in recovery
        "53300",  # too_many_connections: every slot taken for a moment (e.g. after a restart)
        "25006",  # read_only_sql_transaction: a standby, before a failover promotes it
    }
)
_CONNECTION_CLASS = "08"
"""SQLSTATE class 08, connection exception: the connection failed or does not exist."""
_UNREACHABLE_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.ETIMEDOUT}
)
_CHAIN_DEPTH = 8
"""How many wrapped errors are looked into (SQLAlchemy's, the adapter's, the driver's)."""


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (or an error it was raised from) says the database could not be reached.

    True for connections lost or refused, a server starting, stopping or out of connection
    slots, and a standby refusing writes; False for everything else.
    """
    return any(_says_unavailable(error) for error in _chain(exc))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then the driver's errors inside it: a SQLAlchemy error's `orig` and what an
    adapted driver error was raised from. Other errors are not looked into: a Telegram
    request that failed on a refused socket says nothing about the database."""
    error: BaseException | None = exc
    for _ in range(_CHAIN_DEPTH):
        if error is None:
            return
        yield error
        if isinstance(error, SQLAlchemyError):
            error = getattr(error, "orig", None) or error.__cause__
        elif isinstance(error, EmulatedDBAPIException):
            error = error.__cause__
        else:
            error = None


def _says_unavailable(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, DisconnectionError | PoolTimeoutError):
        return True
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str) and (
        sqlstate.startswith(_CONNECTION_CLASS) or sqlstate in _UNAVAILABLE_SQLSTATES
    ):
        return True
    if isinstance(error, ConnectionError | socket.gaierror):
        return True
    return isinstance(error, OSError) and error.errno in _UNREACHABLE_ERRNOS
