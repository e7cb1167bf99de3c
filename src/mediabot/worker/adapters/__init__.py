"""The ports of `worker.ports` over the database, aiogram, the senders and the downloaders.

The only place of the worker that opens sessions or maps ORM rows (`requests_store`,
`rows`); each database call waits out an outage (`outages`). `app/` wires them into the
pipeline's `Ports`.
"""

from mediabot.worker.adapters.downloaders import RegistryDownloaders
from mediabot.worker.adapters.outages import DATABASE_HOLD_S
from mediabot.worker.adapters.requests_store import DatabaseRequests
from mediabot.worker.adapters.telegram import AiogramSenders, AiogramStatuses

__all__ = [
    "DATABASE_HOLD_S",
    "AiogramSenders",
    "AiogramStatuses",
    "DatabaseRequests",
    "RegistryDownloaders",
]
