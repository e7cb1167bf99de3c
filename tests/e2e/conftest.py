"""Each end-to-end module starts from a clean fake Bot API and leaves no process behind."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster, running_cluster
from tests.support.fake_telegram import FakeTelegram
from tests.support.processes import kill_leftovers


@pytest.fixture(scope="module", autouse=True)
def isolated_module(fake_telegram: FakeTelegram) -> Iterator[None]:
    """A fresh fake Bot API for the module (no updates, failures or knobs left by the one
    before), and every process the module started gone at its end, even after a failed set-up.
    """
    fake_telegram.reset()
    yield
    leftovers = kill_leftovers()
    if leftovers:
        print(f"killed processes the module left running: {leftovers}")


@pytest.fixture(scope="module")
def data_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of the module's own, for the `DATA_DIR` of its mediabot process."""
    return tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
def cluster(
    fake_telegram: FakeTelegram,
    tmp_path_factory: pytest.TempPathFactory,
    make_pg_database: Callable[[], str],
    make_amqp_vhost: Callable[[], str],
) -> Iterator[Cluster]:
    """The module's production layout: a database, a virtual host, a bot and two workers."""
    root = tmp_path_factory.mktemp("cluster")
    with running_cluster(fake_telegram, root, make_pg_database(), make_amqp_vhost()) as made:
        yield made
