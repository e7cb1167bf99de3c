"""The `monitoring` profile on a real run: Debian's Prometheus, with the Compose scrape jobs
and alert rules (`support.prometheus`), scrapes the bot and two workers started as Compose
starts them (`test_compose_services.Stack`) while users ask for files through the fake Bot
API; then every query of the Grafana dashboard returns data, no alert fires, and a worker
killed is called down by the rules (run here without their `for`, which is minutes).

Grafana's `$__rate_interval` becomes a window longer than the run, so a rate spans all of it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy import test_compose_services
from tests.deploy.stack import ROOT
from tests.deploy.test_compose_services import Stack
from tests.support.conversation import Conversation
from tests.support.media import MediaSources
from tests.support.processes import MediabotProcess
from tests.support.prometheus import Prometheus, config_for_tests, rules_firing_at_once

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "mediabot.json"
RATE_INTERVAL = "10m"
stack = test_compose_services.stack
"""The Compose services as local processes, stopped at the end."""


def _start(stack: Stack, service: str, label: str) -> tuple[MediabotProcess, str]:
    """Start `service` as `stack.start` does; the process and its scrape target."""
    env = stack.environment(service, label)
    process = MediabotProcess(stack.command(service), env, stack.root / f"{label}.log")
    stack.started.append(process.start())
    return process, f"127.0.0.1:{env['METRICS_PORT']}"


@dataclass
class Scraped:
    prometheus: Prometheus
    workers: list[tuple[MediabotProcess, str]]
    """Each worker and its scrape target."""


@pytest.fixture
def scraped(stack: Stack, tmp_path: Path) -> Iterator[Scraped]:
    """A bot and two workers of the Compose stack, and Prometheus scraping them with the
    shipped rules, less their `for`."""
    migrate = stack.start("migrate", "migrate")
    assert migrate.wait(180) == 0, migrate.log[-3000:]
    bot, bot_target = _start(stack, "bot", "bot")
    workers = [_start(stack, "worker", f"worker-{n}") for n in range(2)]
    for process, _ in (*workers, (bot, bot_target)):
        process.wait_for_log("mediabot started", 180)
    targets = {"bot": [bot_target], "worker": [target for _, target in workers]}
    rules = rules_firing_at_once(tmp_path / "alerts.yml")
    config = config_for_tests(targets, rules=rules)
    prometheus = Prometheus(tmp_path / "prometheus", config).start()
    try:
        yield Scraped(prometheus, workers)
    finally:
        prometheus.stop()


def _dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"].replace("$__rate_interval", RATE_INTERVAL))
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


async def _round(stack: Stack, url: str, button: str) -> None:
    """One user gets `url`'s keyboard and a file (after a 429 on the first try); a second
    user sends the same link at once and gets the first one's answer."""
    first, second = Conversation(stack.telegram), Conversation(stack.telegram)
    keyboard = await first.keyboard(first.say(url))
    await second.keyboard(second.say(url))
    stack.telegram.fail_next("sendVideo", error_code=429, retry_after=1)
    sent = await first.media(first.press(keyboard, keyboard.data(button)), within=120)
    assert sent.method == "sendVideo"


async def test_every_dashboard_panel_gets_data(
    scraped: Scraped,
    stack: Stack,
    media: MediaSources,
) -> None:
    prometheus = scraped.prometheus
    await asyncio.to_thread(prometheus.wait_for, 'count(up{job=~"bot|worker"} == 1) == 3')

    # Three deliveries over two workers: one of them delivers twice, the second time after
    # Prometheus saw the first, so its histograms move between two scrapes (rates above 0).
    rounds = [(media.progressive_mp4, "360p"), (media.page_mp4, "240p"), (media.dash_mpd, "360p")]
    for done, (url, button) in enumerate(rounds, start=1):
        await _round(stack, url, button)
        # recorded last of a delivery: a scrape that has it has the rest
        delivered = f"sum(mediabot_press_to_file_seconds_count) == {done}"
        await asyncio.to_thread(prometheus.wait_for, delivered)

    for title, expr in _dashboard_queries():
        values = await asyncio.to_thread(prometheus.wait_for, expr, 30)
        assert values, (title, expr)

    def stat(title: str) -> float:
        (expr,) = [expr for titled, expr in _dashboard_queries() if titled == title]
        (value,) = prometheus.wait_for(expr)
        return value

    assert await asyncio.to_thread(stat, "Bot processes up") == 1
    assert await asyncio.to_thread(stat, "Workers up") == 2
    assert await asyncio.to_thread(stat, "429s, last hour") > 0
    shared = 'sum(mediabot_lookups_shared_total{job="worker"})'
    assert await asyncio.to_thread(prometheus.wait_for, shared) == [len(rounds)]
    looked_up = 'sum(mediabot_lookup_seconds_count{job="worker", outcome="found"})'
    assert await asyncio.to_thread(prometheus.wait_for, looked_up) == [len(rounds)]

    # The alert rules evaluate on these series without an error, and none fires.
    groups = (await asyncio.to_thread(prometheus.api, "rules"))["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == 8
    assert {rule["health"] for rule in rules} == {"ok"}, [r for r in rules if r["health"] != "ok"]
    assert {rule["state"] for rule in rules} == {"inactive"}, [r["name"] for r in rules]

    # A worker killed: its replica is called down (the rules' `for` left out here).
    gone, gone_target = scraped.workers[0]
    gone.kill()
    firing = (
        'ALERTS{alertname="MediabotProcessDown", alertstate="firing", job="worker", '
        f'instance="{gone_target}"}}'
    )
    assert await asyncio.to_thread(prometheus.wait_for, firing) == [1]
    assert await asyncio.to_thread(stat, "Workers up") == 1
    assert prometheus.query('ALERTS{alertname="MediabotNoWorker"}') == []
