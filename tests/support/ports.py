"""Loopback ports for the processes under test. Tests run in parallel workers on one machine:
a port is always one the OS handed out, never a fixed number."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nothing listens on now (taken from the OS, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
