"""What the worker says on a request's status message: the worker's side of `bot/texts.py`.

The bot and the worker never import each other, so each half keeps its own words; the
status lines built from figures (download percentages, part counts, waits) are made by
`worker/progress.py` from the words here. Plain text: nothing here holds outside data.
"""

from __future__ import annotations

CANCELLED = "Cancelled."
SORRY = "Sorry, this download failed. Please try again later."
FAILED = "❌ {reason}"
DOWNLOADING = "⬇️ Downloading…"
FETCHING = "⏳ Fetching…"
PREPARING = "🔎 Preparing…"
PROCESSING = "⚙️ Processing…"
UPLOADING = "⬆️ Uploading…"
UPLOADING_PART = "⬆️ Uploading part {number}…"
UPLOADING_PART_OF = "⬆️ Uploading part {number}/{total}…"
FLOOD_WAIT = "⏳ Telegram asks me to wait {wait}; the file follows then."
