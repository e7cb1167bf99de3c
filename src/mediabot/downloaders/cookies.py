"""The providers' cookies files, checked once at start-up."""

from __future__ import annotations

import contextlib
import http.cookiejar
import io
import logging
from pathlib import Path

from yt_dlp.cookies import YoutubeDLCookieJar

from mediabot.config import ConfigError
from mediabot.downloaders.options import DownloadOptions
from mediabot.downloaders.registry import DOWNLOADERS

logger = logging.getLogger(__name__)


def check_cookies_files(options: DownloadOptions) -> None:
    """Refuse a cookies file yt-dlp could not read; warn about one with no cookies for its site.

    Raises `ConfigError` naming the variable (`<SITE>_COOKIES_FILE`) when the file is
    missing, unreadable or not in the Netscape format (what browser extensions export and
    yt-dlp reads); every download of that site would fail otherwise. Logs one line per file
    that is usable.
    """
    domains: dict[str, str | None] = {cls.provider: cls.cookies_domain for cls in DOWNLOADERS}
    for site, path in options.cookies_files.items():
        variable = f"{site.upper()}_COOKIES_FILE"
        domain = domains.get(site)
        if domain is None:
            raise ConfigError(f"{variable}: no site of that name takes cookies")
        count = _site_cookies(variable, path, domain)
        if count == 0:
            logger.warning(
                "%s=%s holds no cookies for %s: it will not sign the bot in", variable, path, domain
            )
        else:
            logger.info("%s: %d cookies for %s", variable, count, domain)


def _site_cookies(variable: str, path: Path, domain: str) -> int:
    if not path.is_file():
        raise ConfigError(f"{variable}: {path} does not exist or is not a file")
    jar = YoutubeDLCookieJar(str(path))
    try:
        # yt-dlp prints a line per bad entry; the one line that matters is ours
        with contextlib.redirect_stderr(io.StringIO()):
            jar.load(ignore_discard=True, ignore_expires=True)
    except (http.cookiejar.LoadError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{variable}: {path} is not a Netscape-format cookies file ({exc})"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{variable}: {path} cannot be read ({exc.strerror})") from None
    return sum(1 for cookie in jar if cookie.domain.lstrip(".").endswith(domain))
