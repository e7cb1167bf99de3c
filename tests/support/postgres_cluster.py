"""A PostgreSQL cluster of a test's own, which the test may stop and start at will.

The shared server on 5432 serves every other test; a test that takes the database away
(a restart, an upgrade, a failover as mediabot meets them) needs a server nobody else uses.
`PostgresCluster` runs `initdb` and `pg_ctl` from the installed PostgreSQL (the newest under
/usr/lib/postgresql, or `$MEDIABOT_TEST_PG_BIN`) on a free loopback port, with trust auth
for the user `postgres`, in a folder of its own under the system's temporary folder. Run as
root, the commands run as the `postgres` system user (the server refuses to run as root),
who owns that folder (pytest's own temporary folders are closed to other users).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.support.ports import free_port

_BIN_ENV = "MEDIABOT_TEST_PG_BIN"
_SYSTEM_USER = "postgres"


def _bin_dir() -> Path:
    configured = os.environ.get(_BIN_ENV)
    if configured:
        return Path(configured)
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not installed:
        pytest.fail(
            f"no PostgreSQL server binaries under /usr/lib/postgresql; set {_BIN_ENV}",
            pytrace=False,
        )
    return installed[-1].parent


class PostgresCluster:
    """One private cluster: `init()`, `start()`, `stop()` (fast: clients are cut off at
    once, as in a restart), `url(database)`, `create_database(name)`, `remove()`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mediabot-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._bin = _bin_dir()
        self._as_postgres = os.geteuid() == 0

    def _run(self, *command: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", _SYSTEM_USER, "--"] if self._as_postgres else []
        result = subprocess.run(
            [*prefix, str(self._bin / command[0]), *command[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"{command[0]} failed ({result.returncode}): {result.stderr or result.stdout}"
            )

    def init(self) -> PostgresCluster:
        if self._as_postgres:
            shutil.chown(self.root, _SYSTEM_USER)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        """Start the server and return once it takes connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = self.root / "server.log"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")

    def stop(self) -> None:
        """Stop the server the way a restart does: sessions ended, connections refused."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def running(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        connection = await asyncpg.connect(self.url(), timeout=10)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_cluster() -> Iterator[PostgresCluster]:
    """A private cluster, started; stopped and deleted on the way out."""
    cluster = PostgresCluster().init()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
