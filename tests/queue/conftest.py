"""Fixtures of the queue tests: a bench of each queue kind, broker settings restored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from tests.queue.queue_bench import BrokerEnv, LocalBench, QueueBench, RabbitBench


@pytest.fixture(params=["local", "rabbit"])
async def bench(request: pytest.FixtureRequest) -> AsyncIterator[QueueBench]:
    """A connected queue of each kind, on a queue name of its own."""
    made: QueueBench
    if request.param == "local":
        made = LocalBench()
    else:
        made = RabbitBench(request.getfixturevalue("amqp_url"))
    await made.queue.connect()
    yield made
    await made.aclose()


@pytest.fixture
async def rabbit_bench(make_amqp_vhost: Callable[[], str]) -> AsyncIterator[RabbitBench]:
    """A RabbitMQ queue on a virtual host of its own, for tests that cut its connections."""
    made = RabbitBench(make_amqp_vhost())
    await made.queue.connect()
    yield made
    await made.aclose()


@pytest.fixture
def broker_env() -> Iterator[BrokerEnv]:
    """Broker settings changed by a test, restored when it ends, even when it fails."""
    env = BrokerEnv()
    try:
        yield env
    finally:
        env.restore_all()
