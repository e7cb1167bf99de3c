"""Fixtures for the real PostgreSQL and RabbitMQ the integration tests talk to.

Each test session gets its own database and its own RabbitMQ virtual host, dropped at the
end. A service that does not answer fails the test with the command that starts it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from mediabot.db.engine import create_engine
from mediabot.db.migrate import upgrade
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
    if created:
        asyncio.run(
            _pg_admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in created))
        )


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
    name = url.rsplit("/", 1)[1]
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def engine(empty_db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a freshly migrated database, once for each supported database."""
    engine = create_engine(empty_db_url)
    await upgrade(engine)
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


def _rabbitmqctl(*args: str) -> None:
    try:
        subprocess.run(
            ["rabbitmqctl", "--quiet", *args], check=True, capture_output=True, timeout=60
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
        _rabbitmqctl("add_vhost", vhost)
        created.append(vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, AMQP_USER, ".*", ".*", ".*")
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
