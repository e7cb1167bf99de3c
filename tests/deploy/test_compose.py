"""The deployment files, checked statically: there is no Docker engine in CI.

The commands the services run are the ones the end-to-end tests exercise against the
local PostgreSQL and RabbitMQ (`migrate`, `bot`, `worker`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mediabot.cli import _build_parser
from mediabot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
MEDIABOT_SERVICES = ("migrate", "bot", "worker")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "rabbitmq", *MEDIABOT_SERVICES}
    for name in ("postgres", "rabbitmq"):
        assert compose["services"][name]["healthcheck"]["test"], name


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
    def fill(value: object) -> str:
        # ${NAME:-default} takes its default; ${NAME} and ${NAME:?message} take a stand-in.
        return re.sub(
            r"\$\{[A-Z_]+(?::-([^}]*)|:\?[^}]*)?\}",
            lambda match: match.group(1) if match.group(1) is not None else "x",
            str(value),
        )

    filled = {key.lower(): fill(value) for key, value in environment.items()}
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
    assert "ffmpeg" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert 'ENTRYPOINT ["mediabot"]' in dockerfile
    assert (ROOT / ".dockerignore").read_text().count(".venv") == 1
