"""The cores a process may use: its affinity, capped by its cgroup's CPU quota."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediabot.app.cores import usable_cores


@pytest.fixture
def one_core() -> Iterator[int]:
    """This thread held to one core (affinity is a thread's on Linux), then let go."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield min(before)
    finally:
        os.sched_setaffinity(0, before)


def _cgroup(tmp_path: Path, cpu_max: str | None) -> Path:
    if cpu_max is not None:
        (tmp_path / "cpu.max").write_text(cpu_max + "\n")
    return tmp_path


def test_the_cores_are_those_of_the_affinity_not_of_the_machine(
    one_core: int, tmp_path: Path
) -> None:
    assert usable_cores(cgroup=_cgroup(tmp_path, None)) == 1


@pytest.mark.parametrize(
    ("cpu_max", "cores"),
    [("max 100000", 8), ("150000 100000", 2), ("50000 100000", 1), ("300000 100000", 3)],
)
def test_a_cpu_quota_caps_the_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpu_max: str, cores: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(8)))
    assert usable_cores(cgroup=_cgroup(tmp_path, cpu_max)) == cores


def test_an_unreadable_quota_is_no_quota(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})
    assert usable_cores(cgroup=_cgroup(tmp_path, "garbage")) == 2
