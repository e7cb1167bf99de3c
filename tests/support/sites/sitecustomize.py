"""Name resolution for end-to-end tests: `$MEDIABOT_TEST_HOSTS` (`name=address,…`) wins.

A `mediabot` process started with `tests/support/sites` on its PYTHONPATH imports this at
start (Python's `sitecustomize` hook), so a site's real name (`www.instagram.com`) leads to
a loopback server of the test, through the guard proxy's real checks. Other names resolve
as usual.
"""

from __future__ import annotations

import os
import socket
from typing import Any

_HOSTS = dict(
    pair.split("=", 1) for pair in os.environ.get("MEDIABOT_TEST_HOSTS", "").split(",") if pair
)
_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    return _real_getaddrinfo(_HOSTS.get(name, host), *args, **kwargs)


if _HOSTS:
    socket.getaddrinfo = _getaddrinfo
