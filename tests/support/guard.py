"""Talking to the guard proxy by hand: the credentials its session URL carries."""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlsplit


def proxy_port(proxy_url: str) -> int:
    """The port a guard proxy session listens on."""
    port = urlsplit(proxy_url).port
    assert port is not None, "a guard proxy URL names its port"
    return port


def proxy_authorization(proxy_url: str) -> str:
    """The `Proxy-Authorization` header line for the credentials inside `proxy_url`."""
    parts = urlsplit(proxy_url)
    credentials = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return f"Proxy-Authorization: Basic {base64.b64encode(credentials.encode()).decode()}"
