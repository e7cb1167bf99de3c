"""Fixtures for the real PostgreSQL and RabbitMQ the integration tests talk to.

Each test session gets its own database and its own RabbitMQ virtual host, dropped at the
end. A service that does not answer fails the test with the command that starts it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.engine import create_engine
from mediabot.db.migrate import upgrade_url
from tests.support.postgres_cluster import PostgresCluster, running_cluster

PG_ADMIN_DSN = os.environ.get("MEDIABOT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_HOST = os.environ.get("MEDIABOT_TEST_AMQP_HOST", "127.0.0.1:5672")
AMQP_USER = os.environ.get("MEDIABOT_TEST_AMQP_USER", "guest")
AMQP_PASSWORD = os.environ.get("MEDIABOT_TEST_AMQP_PASSWORD", "guest")

PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
RABBIT_START = "rabbitmq-server -detached"


async def _pg_admin(*statements: str) -> None:
    try:
        connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.fail(
            f"PostgreSQL does not answer at {PG_ADMIN_DSN} ({exc}); start it with: {PG_START}",
            pytrace=False,
        )
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _drop_pg_databases(names: list[str]) -> None:
    if names:
        drops = (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names)
        asyncio.run(_pg_admin(*drops))


def _database_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def make_pg_database() -> Iterator[Callable[[], str]]:
    """A factory of fresh, empty PostgreSQL databases; all are dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = f"mediabot_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return _database_url(name)

    yield make
    _drop_pg_databases(created)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, make_pg_database: Callable[[], str]
) -> Iterator[str]:
    """An empty database URL, once for each supported database; dropped after the test.

    Each DROP DATABASE makes PostgreSQL write a checkpoint: done as the tests go, the drops
    overlap other tests instead of adding up at the end of the run."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'mediabot.db'}"
        return
    url = make_pg_database()
    yield url
    _drop_pg_databases([url.rsplit("/", 1)[1]])


def _apart(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)` in a thread of its own (a coroutine it returns runs to its end there),
    so that fixtures may call it with or without an event loop running."""

    def run() -> Any:
        result = function(*args)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(run).result()


class MigratedDatabases:
    """Databases at the newest revision, each a copy of one this session migrated once.

    Running the migrations costs a fifth of a second of CPU, and the suite makes some three
    hundred migrated databases; a copy costs next to nothing and holds the same schema. The
    migrations themselves run, step by step, in tests/db/test_migrations.py."""

    def __init__(self, folder: Path, make_pg_database: Callable[[], str]) -> None:
        self._folder = folder
        self._make_pg_database = make_pg_database
        self._sqlite: Path | None = None
        self._pg_template: str | None = None
        self._created: list[str] = []

    def sqlite(self, path: Path) -> str:
        """A migrated SQLite database at `path`; its `sqlite+aiosqlite://` URL."""
        if self._sqlite is None:
            template = self._folder / "migrated.db"
            _apart(upgrade_url, f"sqlite+aiosqlite:///{template}")
            self._sqlite = template
        shutil.copyfile(self._sqlite, path)
        return f"sqlite+aiosqlite:///{path}"

    def postgresql(self) -> str:
        """A new migrated PostgreSQL database; its URL. `drop()` drops any left."""
        if self._pg_template is None:
            url = _apart(self._make_pg_database)
            _apart(upgrade_url, url)  # its engine is gone after: a template has no client
            self._pg_template = url.rsplit("/", 1)[1]
        name = f"mediabot_test_{uuid.uuid4().hex[:12]}"
        _apart(_pg_admin, f'CREATE DATABASE "{name}" TEMPLATE "{self._pg_template}"')
        self._created.append(name)
        return _database_url(name)

    def drop(self) -> None:
        _drop_pg_databases(self._created)


@pytest.fixture(scope="session")
def migrated_databases(
    tmp_path_factory: pytest.TempPathFactory, make_pg_database: Callable[[], str]
) -> Iterator[MigratedDatabases]:
    """Migrated databases of either kind, made by copying (see `MigratedDatabases`)."""
    databases = MigratedDatabases(tmp_path_factory.mktemp("migrated"), make_pg_database)
    yield databases
    databases.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_db_url(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_databases: MigratedDatabases
) -> Iterator[str]:
    """A migrated database URL, once for each supported database; dropped after the test
    (as `empty_db_url`'s)."""
    if request.param == "sqlite":
        yield migrated_databases.sqlite(tmp_path / "mediabot.db")
        return
    url = migrated_databases.postgresql()
    yield url
    _drop_pg_databases([url.rsplit("/", 1)[1]])


@pytest.fixture
async def engine(migrated_db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database, once for each supported database."""
    engine = create_engine(migrated_db_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A private PostgreSQL cluster of the module's own, which its tests may stop and start."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def pg_url(make_pg_database: Callable[[], str]) -> str:
    """An empty PostgreSQL database for this test session, as a `postgresql+asyncpg://` URL."""
    return make_pg_database()


def _rabbitmqctl(*args: str, stdin: bytes | None = None) -> None:
    try:
        subprocess.run(
            ["rabbitmqctl", "--quiet", *args],
            input=stdin,
            check=True,
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        pytest.fail("rabbitmqctl is not installed: install rabbitmq-server", pytrace=False)
    except subprocess.CalledProcessError as exc:
        pytest.fail(
            f"RabbitMQ refused `rabbitmqctl {' '.join(args)}`: {exc.stderr.decode().strip()}; "
            f"start it with: {RABBIT_START}",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def make_amqp_vhost() -> Iterator[Callable[[], str]]:
    """A factory of fresh RabbitMQ virtual hosts; all are deleted at the end."""
    created: list[str] = []

    def make() -> str:
        vhost = f"mediabot-test-{uuid.uuid4().hex[:12]}"
        created.append(vhost)
        # The virtual host and its user's permissions in one rabbitmqctl (each is a virtual
        # machine to start, ~0.4 s of CPU).
        everything = {"configure": ".*", "write": ".*", "read": ".*"}
        definitions = {
            "vhosts": [{"name": vhost}],
            "permissions": [{"user": AMQP_USER, "vhost": vhost, **everything}],
        }
        _rabbitmqctl("import_definitions", stdin=json.dumps(definitions).encode())
        return f"amqp://{AMQP_USER}:{AMQP_PASSWORD}@{AMQP_HOST}/{quote(vhost, safe='')}"

    yield make
    # Each rabbitmqctl is a virtual machine of its own to start: all at once, not in turn.
    deleting = [
        subprocess.Popen(
            ["rabbitmqctl", "--quiet", "delete_vhost", vhost],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for vhost in created
    ]
    for process in deleting:
        process.wait(60)


@pytest.fixture(scope="session")
def amqp_url(make_amqp_vhost: Callable[[], str]) -> str:
    """An empty RabbitMQ virtual host for this test session, as an `amqp://` URL."""
    return make_amqp_vhost()
