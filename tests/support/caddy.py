"""A real Caddy in front of the bot processes under test, as the Compose `webhook` profile
puts it: the repository's `deploy/caddy/webhook-proxy.caddy` inside `reverse_proxy`, on a free
loopback port with Caddy's own certificate authority (`tls internal`) instead of ACME, and
fixed upstreams instead of Docker's DNS.

Debian's `caddy` (scripts/bootstrap --test puts its binary in the virtualenv).
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

from tests.support.daemon import Daemon
from tests.support.ports import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "caddy"
PROXY_OPTIONS = DEPLOY / "webhook-proxy.caddy"


def caddy_binary() -> str:
    """The caddy to run: the virtualenv's, else the PATH's; AssertionError naming the fix."""
    beside_python = Path(sys.executable).parent / "caddy"
    found = str(beside_python) if beside_python.exists() else shutil.which("caddy")
    if found is None:
        raise AssertionError("caddy is missing: run scripts/bootstrap --test")
    return found


def caddyfile_for_tests(root: Path, port: int, upstreams: list[str], http_port: int) -> str:
    """The tests' Caddyfile: the Compose one's proxy options, another address and TLS."""
    return f"""{{
	admin off
	auto_https disable_redirects
	skip_install_trust
	http_port {http_port}
	storage file_system {root / "data"}
}}

https://127.0.0.1:{port} {{
	bind 127.0.0.1
	tls internal
	reverse_proxy {{
		to {" ".join(upstreams)}
		import {PROXY_OPTIONS}
	}}
}}
"""


class Caddy(Daemon):
    """`caddy run` with `caddyfile_for_tests`; `url(path)` is what the bot registers."""

    name = "caddy"

    def __init__(self, root: Path, upstreams: list[str]) -> None:
        super().__init__(root / "caddy.log")
        self.root = root
        self.port = free_port()
        self.config = root / "Caddyfile"
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text(caddyfile_for_tests(root, self.port, upstreams, free_port()))

    @property
    def root_certificate(self) -> Path:
        """The root of Caddy's own certificate authority, which signed the site's certificate."""
        return self.root / "data" / "pki" / "authorities" / "local" / "root.crt"

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 60) -> Caddy:
        self.launch(
            [caddy_binary(), "run", "--config", str(self.config), "--adapter", "caddyfile"],
            lambda: self.root_certificate.exists() and self._serves(),
            cwd=self.root,
            env={"HOME": str(self.root), "PATH": "/usr/bin:/bin"},
            timeout=timeout,
        )
        return self

    def _serves(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0
