"""A playlist item's status on its playlist's one message: the count between items, the
item's reason under its place, the last word from the item that ends the playlist."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from mediabot.domain.playlist import PlaylistTally
from mediabot.worker import texts
from mediabot.worker.playlist import PlaylistItemStatus
from mediabot.worker.request import PlaylistPlace
from tests.worker.steps.worker_fakes import FakeRequests


@dataclass
class _Message:
    """The edits a `StatusMessage` would make, remembered."""

    closed: bool = False
    edits: list[tuple[str, bool]] = field(default_factory=list)
    last_words: list[str] = field(default_factory=list)

    async def finish(self, text: str, *, keep_buttons: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        self.edits.append((text, keep_buttons))

    async def close(self) -> None:
        self.closed = True

    async def correct(
        self, text: str, *, keep_buttons: bool = False, last_word: bool = False
    ) -> None:
        assert self.closed, "a correction follows the last text"
        self.edits.append((text, keep_buttons))
        if last_word:
            self.last_words.append(text)


def _status(*tallies: PlaylistTally, ended: bool = False) -> tuple[PlaylistItemStatus, _Message]:
    message = _Message()
    requests = FakeRequests(tallies=list(tallies), playlist_ended=ended)
    place = PlaylistPlace(uuid.uuid4(), position=1, total=4)
    return PlaylistItemStatus(cast(Any, message), place, requests, "en"), message


async def test_a_delivered_item_leaves_the_count_and_the_cancel() -> None:
    status, message = _status(PlaylistTally(total=4, delivered=2))
    await status.remove()
    assert message.edits == [(texts.playlist_progress(2, 4), True)]


async def test_a_skipped_item_leaves_its_reason_under_its_place() -> None:
    status, message = _status(PlaylistTally(total=4, delivered=1, skipped=1))
    await status.finish("❌ This media is private or has been removed.")
    [(text, kept)] = message.edits
    assert text.startswith(texts.playlist_item(2, 4)) and "private" in text and kept


async def test_the_item_that_ends_the_playlist_says_how_it_went_without_buttons() -> None:
    status, message = _status(PlaylistTally(total=4, delivered=2, skipped=1, cancelled=1))
    await status.remove()
    [(text, kept)] = message.edits
    assert text == texts.playlist_done(2, 4, 1, 1) and not kept
    assert message.last_words == [text], "past the gate: nothing may follow it"
    assert "Skipped: 1" in text and "Cancelled: 1" in text


async def test_an_item_ending_a_playlist_already_ended_says_nothing() -> None:
    """Another worker's item, or the user's ✖, ended it first: theirs is the last word."""
    status, message = _status(PlaylistTally(total=4, delivered=3, skipped=1), ended=True)
    await status.remove()
    assert message.edits == [] and message.closed


async def test_a_closed_status_says_nothing_more() -> None:
    status, message = _status()  # no tally is asked for
    await status.close()
    await status.remove()
    await status.finish("late")
    assert message.edits == []


async def test_a_playlist_cancelled_while_the_count_was_on_its_way_is_the_bots_to_end() -> None:
    """The item's count was allowed before the user's ✖ ended the playlist (the bot's note
    waits for it to land); looked at again, the playlist has ended: nothing more."""
    status, message = _status(
        PlaylistTally(total=30, skipped=3),
        PlaylistTally(total=30, skipped=3, cancelled=27),
        ended=True,
    )
    await status.finish("❌ Nothing to download.")
    [(stale, kept)] = message.edits
    assert stale.startswith(texts.playlist_item(2, 30)) and kept
    assert message.last_words == []


async def test_the_last_item_ending_while_the_count_was_on_its_way_says_the_last_word() -> None:
    status, message = _status(
        PlaylistTally(total=3, delivered=1), PlaylistTally(total=3, delivered=2, skipped=1)
    )
    await status.remove()
    (count, _), (last, last_kept) = message.edits
    assert count == texts.playlist_progress(1, 3)
    assert message.last_words == [last] == [texts.playlist_done(2, 3, 1, 0)] and not last_kept


async def test_a_count_overtaken_by_a_later_item_shows_the_later_count() -> None:
    status, message = _status(
        PlaylistTally(total=5, delivered=2), PlaylistTally(total=5, delivered=3)
    )
    await status.remove()
    assert message.edits == [
        (texts.playlist_progress(2, 5), True),
        (texts.playlist_progress(3, 5), True),
    ]


async def test_a_count_still_current_is_not_edited_again() -> None:
    status, message = _status(PlaylistTally(total=5, delivered=2))
    await status.remove()
    assert message.edits == [(texts.playlist_progress(2, 5), True)]
