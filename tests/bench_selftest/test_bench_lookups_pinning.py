"""bench_lookups' `--worker-cpus`: which cores a worker gets, and a process tree held to them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from bench_lookups import pin, worker_cores


def _allowed(pid: int) -> set[int]:
    return os.sched_getaffinity(pid)


@pytest.fixture
def tree() -> Iterator[tuple[int, int]]:
    """A process (a shell) with a child of its own (a sleep), both started before pinning."""
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & echo $!; wait"], stdout=subprocess.PIPE)
    assert shell.stdout is not None
    child = int(shell.stdout.readline())
    try:
        yield shell.pid, child
    finally:
        shell.kill()
        os.kill(child, 9)
        shell.wait()


def test_workers_take_the_cores_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert [worker_cores(index, 1) for index in range(4)] == [{0}, {1}, {0}, {1}]
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert [worker_cores(index, 2) for index in range(3)] == [{0, 1}, {2, 3}, {0, 1}]


def test_a_process_and_all_under_it_are_held_to_the_cores(tree: tuple[int, int]) -> None:
    shell, child = tree
    core = min(os.sched_getaffinity(0))
    assert pin(shell, {core}) >= 2
    assert _allowed(shell) == _allowed(child) == {core}
