"""The `monitoring` profile's Prometheus files, checked with Debian's promtool: the config
(Docker DNS discovery as shipped, and the tests' copy with fixed targets), the alert rules,
and their unit tests (`deploy/prometheus/alerts.test.yml`), which must hold for every alert
a case that fires and a case that does not. The dashboard's queries run against a real
Prometheus in `test_monitoring_scrape.py`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import Counter, Gauge, Histogram

from mediabot import metrics
from tests.deploy.stack import ROOT
from tests.support.prometheus import CONFIG, RULE_TESTS, RULES, config_for_tests, promtool

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "mediabot.json"


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def test_the_alert_rules_pass_promtool() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in checked.stdout


def test_the_alert_rules_pass_their_unit_tests() -> None:
    tested = promtool("test", "rules", RULE_TESTS.name)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_the_unit_tests_fail_on_a_wrong_expectation(tmp_path: Path) -> None:
    """promtool really compares: a threshold moved in the rules breaks the tests."""
    (tmp_path / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    (tmp_path / RULES.name).write_text(RULES.read_text().replace(">= 0.25", ">= 0.75"))
    tested = promtool("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert tested.returncode != 0
    assert "MediabotDeliveriesFailing" in tested.stdout + tested.stderr


def test_every_alert_has_a_case_that_fires_and_one_that_does_not() -> None:
    cases: dict[str, set[bool]] = {}
    for group in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for case in group["alert_rule_test"]:
            cases.setdefault(case["alertname"], set()).add(bool(case["exp_alerts"]))
    for alert in _alerts():
        assert cases.get(alert["alert"]) == {True, False}, alert["alert"]


def test_every_alert_says_what_to_do() -> None:
    readme = (ROOT / "README.md").read_text()
    for alert in _alerts():
        assert alert["labels"]["severity"] in ("page", "ticket"), alert["alert"]
        assert set(alert["annotations"]) == {"summary", "action"}, alert["alert"]
        assert f"`{alert['alert']}`" in readme, f"the README does not explain {alert['alert']}"


def test_the_shipped_config_passes_promtool() -> None:
    """As Compose runs it: Docker DNS discovery, the rules beside the config."""
    checked = promtool("check", "config", str(CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 rule files found" in checked.stdout


def test_the_tests_config_passes_promtool(tmp_path: Path) -> None:
    config = config_for_tests({"bot": ["127.0.0.1:9101"], "worker": ["127.0.0.1:9102"]})
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    checked = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_tests_config_needs_a_target_for_each_discovered_job() -> None:
    with pytest.raises(AssertionError, match="no targets for job worker"):
        config_for_tests({"bot": ["127.0.0.1:9101"]})


def test_the_dashboard_queries_name_only_mediabot_series_and_rate_interval() -> None:
    """Every query uses `$__rate_interval` as its only Grafana variable (the scrape test puts
    a window in its place) and reads series that mediabot or Prometheus exports."""
    exported = {"up", "ALERTS"}
    for value in vars(metrics).values():
        if isinstance(value, Counter | Gauge | Histogram):
            for family in value.describe():
                exported.update(_sample_names(family.name, family.type))
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            assert set(re.findall(r"\$\w+", expr)) <= {"$__rate_interval"}, expr
            for name in re.findall(r"\b(mediabot_\w+|up|ALERTS)\b(?=[{\[ )]|$)", expr):
                assert name in exported, (panel["title"], name)


def _sample_names(name: str, kind: str) -> list[str]:
    if kind == "counter":
        return [f"{name}_total"]
    if kind == "histogram":
        return [f"{name}_bucket", f"{name}_count", f"{name}_sum"]
    return [name]
