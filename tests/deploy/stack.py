"""`compose.yaml` as the tests read it: the services, and their values with `${...}` filled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def fill(value: object) -> str:
    """`value` with Compose's placeholders filled as with an empty `.env`.

    ${NAME:-default} takes its default; ${NAME} and ${NAME:?message} take a stand-in "x".
    """
    return re.sub(
        r"\$\{[A-Z_]+(?::-([^}]*)|:\?[^}]*)?\}",
        lambda match: match.group(1) if match.group(1) is not None else "x",
        str(value),
    )


def service_environment(compose: dict[str, Any], name: str) -> dict[str, str]:
    """The environment Compose gives service `name`, placeholders filled."""
    return {key: fill(value) for key, value in compose["services"][name]["environment"].items()}
