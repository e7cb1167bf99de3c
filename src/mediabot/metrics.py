"""The Prometheus instruments of mediabot, named once here; served by `app/telemetry.py`.

The layers below call these from a few places only: the Telegram session (uploads and
Telegram's errors), the pacer (waits for the rate budget), the worker's database adapter
(requests ended, press to file, cache lookups), its fetch step (downloads) and its lookup
lane (`worker/lookups.py`: each lookup's time and queue wait, `LOOKUPS_SHARED` for each answer
given without a lookup of its own). Each process (the bot, every worker) exposes its own;
Prometheus adds them up. The names are the dashboard's and the alert rules' (deploy/grafana,
deploy/prometheus): a renamed instrument is a broken panel. Nothing here imports more than
prometheus_client: every process imports it, the bot too, which must stay light.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_BYTES = tuple(float(2**power) for power in range(16, 32, 2))  # 64 KiB .. 1 GiB
_WAITS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)

REQUESTS = Counter(
    "mediabot_requests",
    "Requests that ended, by provider, kind and outcome (delivered, failed, cancelled)",
    ["provider", "kind", "outcome"],
)
DOWNLOAD_SECONDS = Histogram(
    "mediabot_download_seconds", "Time a download took, by provider", ["provider"], buckets=_SECONDS
)
DOWNLOAD_BYTES = Histogram(
    "mediabot_download_bytes",
    "Bytes a download produced, by provider",
    ["provider"],
    buckets=_BYTES,
)
UPLOAD_SECONDS = Histogram(
    "mediabot_upload_seconds",
    "Time an upload to Telegram took, by method",
    ["method"],
    buckets=_SECONDS,
)
UPLOAD_BYTES = Histogram(
    "mediabot_upload_bytes", "Bytes of an upload to Telegram, by method", ["method"], buckets=_BYTES
)
PRESS_TO_FILE_SECONDS = Histogram(
    "mediabot_press_to_file_seconds",
    "From the button press to the file delivered, by provider",
    ["provider"],
    buckets=_SECONDS,
)
QUEUE_DEPTH = Gauge("mediabot_queue_depth", "Requests chosen and not yet taken by a worker")
CACHE_LOOKUPS = Counter(
    "mediabot_cache_lookups",
    "Looks for a file Telegram already has (result: hit or miss)",
    ["result"],
)
TELEGRAM_ERRORS = Counter(
    "mediabot_telegram_errors",
    "Bot API calls that failed, by method and code (429, 400, 403, ..., network)",
    ["method", "code"],
)
ACTIVE_JOBS = Gauge("mediabot_active_jobs", "Jobs this process is working on")
RATE_WAIT_SECONDS = Histogram(
    "mediabot_rate_wait_seconds",
    "Time a message waited for Telegram's rate budget (all processes share it)",
    buckets=_WAITS,
)
LOOKUP_SECONDS = Histogram(
    "mediabot_lookup_seconds",
    "Time a link's lookup took, by outcome (see `worker.lookups`)",
    ["outcome"],
    buckets=_WAITS,
)
LOOKUP_QUEUE_WAIT_SECONDS = Histogram(
    "mediabot_lookup_queue_wait_seconds",
    "Time a lookup waited between being asked for and being started",
    buckets=_WAITS,
)
LOOKUPS_SHARED = Counter(
    "mediabot_lookups_shared",
    "Lookups answered with another asker's answer (running or recent) instead of their own",
)


def provider_of(media_key: str) -> str:
    """The provider part of a canonical media key (`youtube:<id>` -> `youtube`)."""
    return media_key.partition(":")[0] or "unknown"
