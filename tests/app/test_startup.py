"""Starting up and `mediabot health`: whatever is wrong ends in one line a person can act on
(never a traceback), with a non-zero exit; Telegram out of reach is waited for, and said."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from mediabot.db.migrate import alembic_config
from tests.support.fake_telegram import FakeTelegram
from tests.support.forkserver import run_mediabot
from tests.support.ports import free_port
from tests.support.processes import MediabotProcess, mediabot_env

TIMEOUT_S = 120


def _mediabot(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_mediabot(list(args), env, timeout=TIMEOUT_S)


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The only line on stderr (the logs go there too: none may carry a traceback)."""
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("mediabot:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def env(telegram: FakeTelegram, tmp_path: Path) -> dict[str, str]:
    return mediabot_env(telegram, tmp_path / "data", LOG_LEVEL="WARNING")


@pytest.fixture
def migrated_pg(make_pg_database: Callable[[], str], env: dict[str, str]) -> str:
    url = make_pg_database().replace("+asyncpg", "")
    assert _mediabot({**env, "DATABASE_URL": url}, "migrate").returncode == 0
    return url


def test_health_says_ok_when_the_database_and_the_broker_answer(
    env: dict[str, str], migrated_pg: str, amqp_url: str
) -> None:
    done = _mediabot({**env, "DATABASE_URL": migrated_pg, "AMQP_URL": amqp_url}, "health")
    assert done.returncode == 0, done.stderr
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"database ok (schema {head}); RabbitMQ ok" in done.stdout


def test_health_fails_in_one_line_when_the_database_does_not_answer(env: dict[str, str]) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/mediabot"
    done = _mediabot({**env, "DATABASE_URL": url}, "health")
    assert done.returncode == 1
    line = _one_line(done)
    assert "database at" in line and "unreachable" in line and "127.0.0.1" in line


def test_health_fails_when_the_broker_does_not_answer(
    env: dict[str, str], migrated_pg: str
) -> None:
    amqp = f"amqp://guest:secret-pw@127.0.0.1:{free_port()}/"
    done = _mediabot({**env, "DATABASE_URL": migrated_pg, "AMQP_URL": amqp}, "health")
    assert done.returncode == 1
    line = _one_line(done)
    assert "RabbitMQ at amqp://***@127.0.0.1" in line and "unreachable" in line
    assert "secret-pw" not in done.stderr


def test_a_schema_behind_says_to_run_migrate(
    env: dict[str, str], make_pg_database: Callable[[], str], amqp_url: str
) -> None:
    url = make_pg_database().replace("+asyncpg", "")
    health = _mediabot({**env, "DATABASE_URL": url}, "health")
    assert health.returncode == 1
    assert "run `mediabot migrate`" in _one_line(health)
    worker = _mediabot({**env, "DATABASE_URL": url, "AMQP_URL": amqp_url}, "worker")
    assert worker.returncode == 1
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"schema is at nothing, this mediabot needs {head}: run `mediabot migrate`" in (
        _one_line(worker)
    )


def test_a_token_telegram_refuses_stops_at_once(env: dict[str, str]) -> None:
    done = _mediabot({**env, "BOT_TOKEN": "123456:not-the-token"}, "run")
    assert done.returncode == 2
    line = _one_line(done)
    assert "refused BOT_TOKEN as unauthorized" in line and "@BotFather" in line
    assert "not-the-token" not in done.stderr


def test_a_worker_without_its_broker_stops_in_one_line(
    env: dict[str, str], migrated_pg: str
) -> None:
    amqp = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    done = _mediabot({**env, "DATABASE_URL": migrated_pg, "AMQP_URL": amqp}, "worker")
    assert done.returncode == 1
    assert "RabbitMQ at amqp://***@127.0.0.1" in _one_line(done)


def test_missing_ffmpeg_is_named(env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    done = _mediabot({**env, "PATH": str(empty)}, "run")
    assert done.returncode == 1
    assert "ffmpeg and ffprobe not found on PATH: install ffmpeg" in _one_line(done)


def test_telegram_out_of_reach_is_waited_for_and_said(env: dict[str, str], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    process = MediabotProcess(
        "run", {**env, "TELEGRAM_API_URL": url, "LOG_LEVEL": "INFO"}, tmp_path / "run.log"
    ).start()
    try:
        process.wait_for_log(f"Telegram unreachable at {url}", timeout=TIMEOUT_S)
        process.wait_for_log("trying again in", timeout=5)
        assert process.running()
    finally:
        process.kill()
    assert "Traceback" not in process.log


def test_version_names_every_tool(env: dict[str, str]) -> None:
    done = _mediabot(env, "--version")
    assert done.returncode == 0
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert names == ["mediabot", "yt-dlp", "ffmpeg", "deno"]
    assert "not found" not in done.stdout
