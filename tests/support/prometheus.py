"""A real Prometheus on the processes under test, with the Compose `monitoring` profile's
scrape jobs and alert rules (deploy/prometheus): the same job names, fixed loopback targets
instead of Docker's DNS, and a one-second scrape so a test waits seconds, not minutes.

Debian's `prometheus` and `promtool` (scripts/bootstrap --test puts them in the virtualenv).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.daemon import Daemon
from tests.support.ports import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
CONFIG = DEPLOY / "prometheus.yml"
RULES = DEPLOY / "alerts.yml"
RULE_TESTS = DEPLOY / "alerts.test.yml"


def tool(name: str) -> str:
    """`prometheus` or `promtool`: the virtualenv's, else the PATH's; AssertionError naming
    the fix."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is missing: run scripts/bootstrap --test")
    return found


def promtool(*args: str, cwd: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("promtool"), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def config_for_tests(
    targets: dict[str, list[str]], interval: str = "1s", rules: Path | None = None
) -> dict[str, Any]:
    """The Compose Prometheus config with each job's Docker DNS discovery replaced by
    `targets[job]` (every job that discovers by DNS must be given), the rules by absolute
    path (or `rules` instead), and scrapes and rule evaluations every `interval`."""
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    config["global"].update(scrape_interval=interval, evaluation_interval=interval)
    shipped = [str(DEPLOY / name) for name in config["rule_files"]]
    config["rule_files"] = shipped if rules is None else [str(rules)]
    jobs = []
    for job in config["scrape_configs"]:
        if "dns_sd_configs" in job:
            assert job["job_name"] in targets, f"no targets for job {job['job_name']}"
            job.pop("dns_sd_configs")
            job["static_configs"] = [{"targets": targets[job["job_name"]]}]
        elif job["job_name"] == "prometheus":
            continue  # itself: on another port here
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


def rules_firing_at_once(into: Path) -> Path:
    """The shipped alert rules, each firing as soon as its expression holds (no `for`):
    the same expressions and labels, for a test that cannot wait minutes."""
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("for", None)
    into.write_text(yaml.safe_dump(rules))
    return into


class Prometheus(Daemon):
    """`prometheus` with a config of `config_for_tests`, its data in `root`."""

    name = "prometheus"

    def __init__(self, root: Path, config: dict[str, Any]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root / "prometheus.log")
        self.root = root
        self.port = free_port()
        self.config_path = root / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config))

    def start(self, timeout: float = 60) -> Prometheus:
        self.launch(
            [
                tool("prometheus"),
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            self._ready,
            cwd=self.root,
            timeout=timeout,
        )
        return self

    def _ready(self) -> bool:
        try:
            ready = f"http://127.0.0.1:{self.port}/-/ready"
            with urllib.request.urlopen(ready, timeout=5) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def api(self, path: str, **params: str) -> Any:
        """The `data` of a Prometheus HTTP API answer; AssertionError on an error answer."""
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/api/v1/{path}?{query}", timeout=10
            ) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as exc:
            answer = json.load(exc)
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector `expr` gives now (a scalar as a vector of one)."""
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(self, expr: str, timeout: float = 60, *, finite: bool = True) -> list[float]:
        """The values of `expr` once it has any (every one a number, with `finite`)."""
        deadline = time.monotonic() + timeout
        while True:
            values = [float(sample["value"][1]) for sample in self.query(expr)]
            if values and (not finite or all(math.isfinite(value) for value in values)):
                return values
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr!r} gave {values} for {timeout} s")
            time.sleep(0.2)
