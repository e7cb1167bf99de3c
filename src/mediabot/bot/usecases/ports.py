"""The ports the bot's use cases depend on; `bot.adapters` builds them for each update.

Each is a narrow `Protocol` (the repositories of `db.repositories` fit the storage ones as
they are), so a use case's unit test hands it in-memory fakes: no database, no broker, no
aiogram.

Transactions: a use case owns them. It ends every transaction it opens
(`Transaction.commit`) before it returns and before it hands anything to its reply or to
the publisher, so no connection is held while the bot talks to Telegram or the broker.
Handlers and repositories never commit; the session middleware commits only its own
upsert of the update's user and chat, and rolls back whatever a failure left open.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar, Unpack

from mediabot.db.models import Playlist, RequestRow
from mediabot.db.stats import Stats
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Variant
from mediabot.domain.playlist import PlaylistTally
from mediabot.domain.preferences import DeliveryForm, Preferences, PreferencesChange

T_contra = TypeVar("T_contra", contravariant=True)


class Transaction(Protocol):
    """The update's database transaction (its session)."""

    async def commit(self) -> None: ...

    async def rollback(self) -> None:
        """End a transaction a failure left open (the outage hold does, before it tries a
        step again); the use cases never need it."""
        ...


class Files(Protocol):
    """Requests for media (`RequestRows`)."""

    async def get(self, file_id: uuid.UUID) -> RequestRow | None: ...

    async def get_with_chat(self, file_id: uuid.UUID) -> RequestRow | None:
        """The request with its chat loaded (a press is checked against it)."""
        ...

    async def choose(self, file_id: uuid.UUID, variant: Variant) -> RequestRow | None:
        """Turn an offer into an accepted request for `variant`, once; None for a second
        press."""
        ...

    async def set_state(self, file_id: uuid.UUID, state: RequestState) -> bool:
        """Move a request; False when it had ended already."""
        ...

    async def queue_position(self, file: RequestRow) -> int: ...

    async def find_delivered(self, media_key: str, variant: Variant) -> RequestRow | None: ...

    async def count_in_flight_of_user(self, user_id: uuid.UUID) -> int: ...

    async def in_flight_of_user(self, user_id: uuid.UUID) -> Sequence[RequestRow]: ...

    async def presses_since(
        self, user_id: uuid.UUID, since: datetime
    ) -> tuple[int, datetime | None]: ...

    async def delivered_of_user(
        self, user_id: uuid.UUID, *, offset: int = 0, limit: int = 10
    ) -> tuple[Sequence[RequestRow], int]: ...

    async def offer_again(self, request: RequestRow, status_message_id: int) -> RequestRow:
        """An offer of what `request` offered, shown on `status_message_id`: the one
        already there, or a new one."""
        ...

    async def again(
        self, delivered: RequestRow, chat_id: uuid.UUID, user_id: uuid.UUID
    ) -> RequestRow:
        """A new queued request for what `delivered` was."""
        ...

    async def cancel_pending_of_user(self, telegram_id: int, reason: str) -> list[uuid.UUID]: ...


class Playlists(Protocol):
    """Playlist offers and their items (`PlaylistRepository`)."""

    async def get(self, playlist_id: uuid.UUID) -> Playlist | None: ...

    async def get_with_chat(self, playlist_id: uuid.UUID) -> Playlist | None: ...

    async def choose(self, playlist_id: uuid.UUID, kind: MediaKind, resolution: int | None) -> bool:
        """Record the choice for all the items, once."""
        ...

    async def queue_items(
        self, playlist: Playlist, cached: set[int], form: DeliveryForm = DeliveryForm.MEDIA
    ) -> list[RequestRow]:
        """One queued request per entry, each in `form` (the `cached` entries first)."""
        ...

    async def end_items(self, playlist_id: uuid.UUID, state: RequestState, reason: str) -> bool:
        """End what is left; False when the playlist had ended already."""
        ...

    async def tally(self, playlist_id: uuid.UUID) -> PlaylistTally: ...

    async def status_settles_in(self, playlist_id: uuid.UUID) -> float: ...


class Users(Protocol):
    """The bot's users (`UserRepository`)."""

    async def lock(self, user_id: uuid.UUID) -> None:
        """Lock the user's row until the transaction ends."""
        ...

    async def set_language(self, user_id: uuid.UUID, language: str | None) -> None: ...

    async def preferences(self, user_id: uuid.UUID) -> Preferences:
        """The user's /settings (the defaults for a user never seen)."""
        ...

    async def set_preferences(
        self,
        user_id: uuid.UUID,
        *,
        update_id: int | None = None,
        **change: Unpack[PreferencesChange],
    ) -> None:
        """Change the settings given, each unless an update later than `update_id` set it."""
        ...

    async def set_banned(self, telegram_id: int, banned: bool) -> bool:
        """False when no user has this Telegram id."""
        ...


class Publisher(Protocol):
    """Hands jobs to the workers, waiting out a broker outage."""

    async def publish(self, job: Job, *, cached: bool = False) -> bool:
        """Publish `job` on the main lane, or on the cached lane (files Telegram already
        has); False when it could not be published in time (recovery publishes it)."""
        ...


class Reply(Protocol[T_contra]):
    """How a handler answers a use case's outcome; called before anything is published,
    so the user's answer is never overtaken by the worker's own status."""

    async def __call__(self, outcome: T_contra, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Ports:
    """Everything the use cases talk to, for one update (or faked in tests)."""

    files: Files
    playlists: Playlists
    users: Users
    transaction: Transaction
    publisher: Publisher
    stats: Callable[[datetime], Awaitable[Stats]]
    """The statistics counted by the database at a moment."""
    clock: Callable[[], datetime]
    """Now, in UTC."""
