"""What the worker says on a request's status message: the worker's side of `bot/texts.py`.

The bot and the worker never import each other, so each half keeps its own words; the
status lines built from figures (download percentages, part counts, waits) are made by
`worker/progress.py` from the words here. Each text is looked up in the current locale when
it is shown (`mediabot.i18n`; the pipeline runs a job in its requester's language). Plain
text: nothing here holds outside data.
"""

from __future__ import annotations

from mediabot.domain.enums import MediaKind
from mediabot.downloaders.errors import DownloadError
from mediabot.i18n import _


def cancelled() -> str:
    return _("Cancelled.")


def sorry() -> str:
    return _("Sorry, this download failed. Please try again later.")


def failed(reason: str) -> str:
    return _("❌ {reason}").format(reason=reason)


def download_failed(error: DownloadError) -> str:
    """A downloader's refusal (the reason of a failed request) in the current language."""
    return error.user_message_in(_)


def downloading() -> str:
    return _("⬇️ Downloading…")


def fetching() -> str:
    return _("⏳ Fetching…")


def preparing() -> str:
    return _("🔎 Preparing…")


def processing() -> str:
    return _("⚙️ Processing…")


def uploading() -> str:
    return _("⬆️ Uploading…")


def uploading_part(number: int) -> str:
    return _("⬆️ Uploading part {number}…").format(number=number)


def uploading_part_of(number: int, total: int) -> str:
    return _("⬆️ Uploading part {number}/{total}…").format(number=number, total=total)


def flood_wait(wait: str) -> str:
    return _("⏳ Telegram asks me to wait {wait}; the file follows then.").format(wait=wait)


def downloaded_of(done: str, total: str) -> str:
    """Megabytes downloaded of the total, e.g. "12.3 of 27.0 MB"."""
    return _("{done} of {total} MB").format(done=done, total=total)


def megabytes(size: str) -> str:
    return _("{size} MB").format(size=size)


def megabytes_per_second(speed: str) -> str:
    return _("{speed} MB/s").format(speed=speed)


def eta(time: str) -> str:
    """The time left, e.g. "ETA 0:07"."""
    return _("ETA {time}").format(time=time)


def waiting_for_disk() -> str:
    return _("💾 Waiting for free disk space; the download starts as soon as there is room.")


def playlist_item(number: int, total: int) -> str:
    """The heading of a playlist item's progress: its place among the playlist's items."""
    return _("📃 {number} of {total}").format(number=number, total=total) + "\n"


def playlist_progress(done: int, total: int) -> str:
    """A playlist's status between two items."""
    return _("📃 {done} of {total} done…").format(done=done, total=total)


def playlist_done(delivered: int, total: int, skipped: int, cancelled: int) -> str:
    """A playlist's last status: what arrived, what was skipped, what was cancelled."""
    lines = [
        _("📃 Playlist done: {delivered} of {total} delivered.").format(
            delivered=delivered, total=total
        )
    ]
    if skipped:
        lines.append(
            _("Skipped: {skipped} (private, removed or unavailable).").format(skipped=skipped)
        )
    if cancelled:
        lines.append(_("Cancelled: {cancelled}.").format(cancelled=cancelled))
    return "\n".join(lines)


def inline_too_large() -> str:
    return _("📦 Too large to send here: it comes in parts. The bot sends them in a private chat.")


def inline_in_private_chat() -> str:
    return _("📥 Get it in a private chat")


def delivered_by_default(kind: MediaKind, resolution: int | None) -> str:
    """The line a request chosen by the user's default leaves once delivered, above its
    "⚙ Other choices" button."""
    if kind is MediaKind.AUDIO:
        return _("✅ Audio · your default")
    if resolution is not None:
        return _("✅ {height}p · your default").format(height=resolution)
    return _("✅ Your default")
