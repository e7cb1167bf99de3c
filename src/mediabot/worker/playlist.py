"""A playlist item's status: its playlist's one message, left to the next item in between.

Each item is a request of its own, worked on in turn, perhaps by different workers; they
share the playlist's status message. An item's progress shows under its place ("📃 3 of
5"); when it ends (delivered, skipped, cancelled) the message says how far the playlist
is, and the item that ends it says how it went: delivered, skipped and cancelled, counted
in the database. That last word is the message's last edit, whichever worker sent what.
"""

from __future__ import annotations

import asyncio
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

    async def finish(self, text: str, *, ended: bool = False) -> None:
        """The item ended without a delivery: the reason under its place, or the last word
        (an item has no buttons of its own: `ended` changes nothing)."""
        await self._hand_on(text)

    @property
    def message_for_file(self) -> int | None:
        """None: the playlist's message is every item's, never one file's."""
        return None

    async def remove(self) -> None:
        """The item was delivered: the playlist's count, or the last word."""
        await self._hand_on(None)

    async def close(self) -> None:
        await self._message.close()

    async def _hand_on(self, reason: str | None) -> None:
        """Leave the message with the playlist's count (and this item's `reason`), or say
        its last word when this item was the last to end.

        The count's edit is paced, so another item can end meanwhile: once it has landed,
        a tally that moved on is shown instead (the later count), and when the playlist
        has ended by then, the last word is said. The last word is said once, by whoever
        ends the playlist: the worker whose `end_playlist` marks it done, or the bot for
        the user's ✖. Every other edit of the message (progress, counts, from any worker)
        passes the message's gate, which refuses them from the end on, and the last word
        waits for those allowed before it: nothing lands after it.
        """
        if self._message.closed:
            return
        tally = await self._requests.playlist_tally(self._place.playlist_id)
        if not tally.finished:
            await self._message.finish(self._count(tally, reason), keep_buttons=True)
            now = await self._requests.playlist_tally(self._place.playlist_id)
            if now == tally:
                return
            if not now.finished:
                await self._message.correct(self._count(now, None), keep_buttons=True)
                return
            tally = now
        else:
            await self._message.close()
        await self._say_last_word(tally)

    async def _say_last_word(self, tally: PlaylistTally) -> None:
        """End the playlist and say how it went, unless it had ended already (then its
        last word is another's)."""
        settles_in = await self._requests.end_playlist(self._place.playlist_id)
        if settles_in is None:
            return
        logger.info(
            "playlist %s: done, %d delivered, %d skipped, %d cancelled of %d",
            self._place.playlist_id,
            tally.delivered,
            tally.skipped,
            tally.cancelled,
            tally.total,
        )
        with use_locale(self._locale):
            done = texts.playlist_done(tally.delivered, tally.total, tally.skipped, tally.cancelled)
        await asyncio.sleep(settles_in)  # the edits allowed before land first
        await self._message.correct(done, last_word=True)

    def _count(self, tally: PlaylistTally, reason: str | None) -> str:
        """The message between two items: the count, or this item's `reason` under its place."""
        with use_locale(self._locale):
            if reason is not None:
                return texts.playlist_item(self._place.position + 1, tally.total) + reason
            return texts.playlist_progress(tally.done, tally.total)
