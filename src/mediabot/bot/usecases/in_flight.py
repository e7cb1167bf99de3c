"""A user's requests in flight (/queue), and the ✖ on one of them.

A playlist is one entry (its item on turn), and its ✖ cancels what is left of the
playlist. Only the request's owner may cancel it. A queued request cancelled here is never
started (the worker's claim takes only pending requests); a running one is stopped by its
worker within seconds (`worker.steps.watch`), which says so on its status message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from mediabot.bot.usecases.ports import Files, Ports
from mediabot.db.models import RequestRow
from mediabot.domain.enums import RequestState
from mediabot.domain.playlist import PlaylistTally

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InFlight:
    """A request in flight; `position` (queued ones only): how many queued are ahead."""

    file: RequestRow
    position: int | None = None


async def in_flight(files: Files, user_id: uuid.UUID) -> list[InFlight]:
    """The user's requests in flight, newest first, a playlist stood for by its item on
    turn. Reads in the caller's transaction."""
    listed = []
    for file in _one_per_playlist(await files.in_flight_of_user(user_id)):
        queued = file.state is RequestState.QUEUED
        listed.append(InFlight(file, await files.queue_position(file) if queued else None))
    return listed


async def listing(ports: Ports, user_id: uuid.UUID) -> list[InFlight]:
    """/queue: the user's requests in flight (see `in_flight`)."""
    listed = await in_flight(ports.files, user_id)
    await ports.transaction.commit()
    return listed


def _one_per_playlist(in_flight: Sequence[RequestRow]) -> list[RequestRow]:
    """The requests, with each playlist stood for by its item on turn (the first pending)."""
    on_turn: dict[uuid.UUID, RequestRow] = {}
    for file in in_flight:
        if file.playlist_id is None or file.playlist_position is None:
            continue
        first = on_turn.get(file.playlist_id)
        if first is None or (first.playlist_position or 0) > file.playlist_position:
            on_turn[file.playlist_id] = file
    return [
        file
        for file in in_flight
        if file.playlist_id is None or on_turn.get(file.playlist_id) is file
    ]


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A cancel from /queue went through. `status`: the status message (chat's Telegram id,
    message id) to say so on, after `settles_in` seconds; None when its worker says it."""

    file: RequestRow
    tally: PlaylistTally | None
    """The playlist's tally, when the line stood for a playlist."""
    status: tuple[int, int] | None
    settles_in: float = 0.0


class NotYours:
    """The request is not the user's (or does not exist)."""


class AlreadyOver:
    """The request (or the playlist) had ended meanwhile."""


QueueCancel = Cancelled | NotYours | AlreadyOver


async def cancel(ports: Ports, request_id: uuid.UUID, user_id: uuid.UUID) -> QueueCancel:
    """Cancel one of the user's requests in flight (a playlist's line: what is left of it)."""
    file = await ports.files.get_with_chat(request_id)
    if file is None or file.requested_by_id != user_id:
        await ports.transaction.commit()
        return NotYours()
    was_waiting = file.state in (RequestState.ACCEPTED, RequestState.QUEUED)
    tally = None
    settles_in = 0.0
    if file.playlist_id is not None:
        # A playlist's line stands for all of it; ending the playlist makes its status's
        # last word this one's to say.
        playlists = ports.playlists
        cancelled = await playlists.end_items(file.playlist_id, RequestState.CANCELLED, "cancelled")
        tally = await playlists.tally(file.playlist_id)
        settles_in = await playlists.status_settles_in(file.playlist_id)
        say_it = cancelled
    else:
        cancelled = await ports.files.set_state(file.id, RequestState.CANCELLED)
        say_it = was_waiting  # a running request's worker says so on its status itself
    await ports.transaction.commit()
    if not cancelled:
        return AlreadyOver()
    logger.info("request %s: cancelled by the user from /queue", file.id)
    status = None
    if say_it and file.status_message_id is not None:
        status = (file.chat.telegram_id, file.status_message_id)
    return Cancelled(file, tally, status, settles_in)
