"""A playlist item's status: its playlist's one message, left to the next item in between.

Each item is a request of its own, worked on in turn; they share the playlist's status
message. An item's progress shows under its place ("📃 3 of 5"); when it ends (delivered,
skipped, cancelled) the message says how far the playlist is, and the item that ends it
says how it went: delivered, skipped and cancelled, counted in the database.
"""

from __future__ import annotations

import logging

from mediabot.domain.media import DownloadProgress, Progress
from mediabot.domain.playlist import PlaylistTally
from mediabot.i18n import use_locale
from mediabot.telegram.flood import FloodWait
from mediabot.worker import texts
from mediabot.worker.ports import RequestsStore
from mediabot.worker.progress import StatusMessage
from mediabot.worker.request import PlaylistPlace

logger = logging.getLogger(__name__)


class PlaylistItemStatus:
    """`Status` of a playlist item on its playlist's message.

    `remove` (the item delivered) and `finish` (skipped, cancelled, given up) do not end
    the message: they leave it with the playlist's count and its ✖, or, once every item
    ended, with the playlist's last word.
    """

    def __init__(
        self,
        message: StatusMessage,
        place: PlaylistPlace,
        requests: RequestsStore,
        locale: str,
    ) -> None:
        self._message = message
        self._place = place
        self._requests = requests
        self._locale = locale

    def show(self, text: str) -> None:
        self._message.show(text)

    def on_download(self, progress: DownloadProgress) -> None:
        self._message.on_download(progress)

    def show_upload(self, index: int, total: int | None) -> None:
        self._message.show_upload(index, total)

    @property
    def progress(self) -> Progress:
        return self._message.progress

    def on_flood_wait(self, wait: FloodWait) -> None:
        self._message.on_flood_wait(wait)

    async def finish(self, text: str) -> None:
        """The item ended without a delivery: the reason under its place, or the last word."""
        await self._hand_on(text)

    async def remove(self) -> None:
        """The item was delivered: the playlist's count, or the last word."""
        await self._hand_on(None)

    async def close(self) -> None:
        await self._message.close()

    async def _hand_on(self, reason: str | None) -> None:
        """Leave the message with the playlist's count (and this item's `reason`), or its
        last word; then look again.

        The edit is paced, so it can land after what happened meanwhile: the user's ✖
        (the bot's "Cancelled." note) or another item's count. Once it has landed, a tally
        that moved on is shown instead: the last word when the playlist ended, the later
        count otherwise. One look is enough: whatever changes after it edits the message
        itself, later.
        """
        if self._message.closed:
            return
        tally = await self._requests.playlist_tally(self._place.playlist_id)
        text, final = self._text(tally, reason)
        await self._message.finish(text, keep_buttons=not final)
        if final:
            return
        now = await self._requests.playlist_tally(self._place.playlist_id)
        if now != tally:
            text, final = self._text(now, None)
            await self._message.correct(text, keep_buttons=not final)

    def _text(self, tally: PlaylistTally, reason: str | None) -> tuple[str, bool]:
        """The message's text for `tally`, and whether it is the playlist's last word."""
        with use_locale(self._locale):
            if tally.finished:
                logger.info(
                    "playlist %s: done, %d delivered, %d skipped, %d cancelled of %d",
                    self._place.playlist_id,
                    tally.delivered,
                    tally.skipped,
                    tally.cancelled,
                    tally.total,
                )
                done = texts.playlist_done(
                    tally.delivered, tally.total, tally.skipped, tally.cancelled
                )
                return done, True
            text = texts.playlist_progress(tally.done, tally.total)
            if reason is not None:
                text = texts.playlist_item(self._place.position + 1, tally.total) + reason
            return text, False
