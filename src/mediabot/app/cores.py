"""How many cores this process may use: what a worker's lookup pool is sized by."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
"""Where a process sees its own cgroup (v2), in a container with its cgroup namespace."""


def usable_cores(*, cgroup: Path = CGROUP) -> int:
    """The cores this process may run on (its CPU affinity: a `taskset`, a container's
    `--cpuset-cpus`), or fewer when its cgroup's CPU quota (`cpu.max`: a container's
    `--cpus`) allows less; at least 1. Not `os.cpu_count()`, which counts the machine's."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        cores = os.cpu_count() or 1
    quota = _quota_cores(cgroup / "cpu.max")
    return max(1, cores if quota is None else min(cores, quota))


def _quota_cores(cpu_max: Path) -> int | None:
    """The cores a cgroup's `cpu.max` ("<quota> <period>", or "max <period>") allows,
    rounded up; None without a quota."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        return None
