"""yt-dlp's requests handler tuned for many short-lived YoutubeDLs: one TLS context per
configuration for the process, and a browser's redirect limit."""

from __future__ import annotations

import functools
import threading
from typing import Any

MAX_REDIRECTS = 20
"""Redirects one request follows, as browsers do; one more is `TooManyRedirectsError`."""

_TLS_CONTEXTS: dict[tuple[Any, ...], Any] = {}
_TLS_CONTEXTS_LOCK = threading.Lock()
_TUNED_CLASSES: dict[type, type] = {}


def tuned_requests_handler(handler: type) -> type:
    """yt-dlp's requests handler with one TLS context per configuration for the process,
    and `MAX_REDIRECTS` in place of requests' 30.

    yt-dlp builds a context (loading the whole CA bundle: ~15 ms) for every YoutubeDL, and
    a download uses two (the probe, then the fetch). This overrides the private
    `_make_sslcontext` and `_create_instance` hooks; when a yt-dlp release lacks one (or
    the attributes the TLS key is built from), that part is used as yt-dlp made it:
    slower, or with requests' own redirect limit, never wrong.
    """
    tuned = _TUNED_CLASSES.get(handler)
    if tuned is not None:
        return tuned
    overrides: dict[str, Any] = {}
    parent: Any = handler
    if callable(getattr(handler, "_make_sslcontext", None)):

        def _make_sslcontext(self: Any, legacy_ssl_support: Any = None) -> Any:
            make = functools.partial(parent._make_sslcontext, self)
            try:
                key = (
                    self.verify,
                    self.legacy_ssl_support if legacy_ssl_support is None else legacy_ssl_support,
                    self.prefer_system_certs,
                    tuple(sorted(self._client_cert.items())),
                )
            except (AttributeError, TypeError):
                return make(legacy_ssl_support)
            with _TLS_CONTEXTS_LOCK:
                context = _TLS_CONTEXTS.get(key)
                if context is None:
                    context = _TLS_CONTEXTS[key] = make(legacy_ssl_support)
            return context

        overrides["_make_sslcontext"] = _make_sslcontext
    if callable(getattr(handler, "_create_instance", None)):

        def _create_instance(self: Any, *args: Any, **kwargs: Any) -> Any:
            session = parent._create_instance(self, *args, **kwargs)
            if hasattr(session, "max_redirects"):
                session.max_redirects = MAX_REDIRECTS
            return session

        overrides["_create_instance"] = _create_instance
    tuned = type(f"Tuned{handler.__name__}", (handler,), overrides) if overrides else handler
    _TUNED_CLASSES[handler] = tuned
    return tuned
