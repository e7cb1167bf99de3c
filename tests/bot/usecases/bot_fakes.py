"""In-memory fakes of the bot use cases' ports (`bot.usecases.ports`), on a fake clock.

They keep the rules the database keeps (a choice is taken once, a final state is never
left, a playlist's items count as one request), and they check the use cases' transaction
rule: a reply or a publish while a transaction is open fails the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack

from mediabot.bot.usecases.ports import Ports
from mediabot.db.models import Chat, FilePart, Playlist, RequestRow
from mediabot.db.stats import Stats
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.jobs import Job
from mediabot.domain.offer import Offer, Variant
from mediabot.domain.playlist import PlaylistTally
from mediabot.domain.preferences import DeliveryForm, Preferences, PreferencesChange
from tests.bot.conftest import playlist_entries

CHAT_ID = 777
MESSAGE_ID = 55
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
SETTLES_IN_S = 1.5
"""How long a playlist's status edits take to land (`status_settles_in`), in the fakes."""


@dataclass
class World:
    """The bot's data as the use cases see it, and everything they did."""

    now: datetime = START
    files: dict[uuid.UUID, RequestRow] = field(default_factory=dict)
    playlists: dict[uuid.UUID, Playlist] = field(default_factory=dict)
    telegram_ids: dict[int, uuid.UUID] = field(default_factory=dict)
    """Users' rows by Telegram id."""
    languages: dict[uuid.UUID, str | None] = field(default_factory=dict)
    preferences: dict[uuid.UUID, Preferences] = field(default_factory=dict)
    """Users' /settings (absent: the defaults)."""
    settings_set_by: dict[uuid.UUID, dict[str, int | None]] = field(default_factory=dict)
    """The update that last set each of a user's settings."""
    banned: set[int] = field(default_factory=set)
    locked: set[uuid.UUID] = field(default_factory=set)
    open: bool = False
    """A transaction is open (a port was used since the last commit)."""
    commits: int = 0
    published: list[tuple[uuid.UUID, bool]] = field(default_factory=list)
    publish_works: bool = True
    replies: list[Any] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    stats_asked_at: list[datetime] = field(default_factory=list)

    def touch(self) -> None:
        self.open = True

    @property
    def ports(self) -> Ports:
        return Ports(
            files=FakeFiles(self),
            playlists=FakePlaylists(self),
            users=FakeUsers(self),
            transaction=FakeTransaction(self),
            publisher=FakePublisher(self),
            stats=self.stats,
            clock=lambda: self.now,
        )

    async def reply(self, outcome: Any) -> None:
        assert not self.open, "replied inside an open transaction"
        self.replies.append(outcome)
        self.events.append("reply")

    async def stats(self, now: datetime) -> Stats:
        self.touch()
        self.stats_asked_at.append(now)
        return Stats(
            users=len(self.telegram_ids),
            active_day=0,
            active_week=0,
            by_provider={},
            by_state={},
            delivered=0,
            cache_hits=0,
            bytes_delivered=0,
            median_press_to_file_s=None,
            top_users=[],
            top_media=[],
        )

    def user(self, telegram_id: int = 1) -> uuid.UUID:
        return self.telegram_ids.setdefault(telegram_id, uuid.uuid4())

    def offer(self, owner: uuid.UUID | None, **values: Any) -> RequestRow:
        """A link's offer shown on `MESSAGE_ID` in `CHAT_ID`: 360p, 720p and audio."""
        fields: dict[str, Any] = {
            "id": uuid.uuid4(),
            "chat_id": uuid.uuid4(),
            "chat": Chat(telegram_id=CHAT_ID, type="private"),
            "requested_by_id": owner,
            "request_url": "https://videos.example/v/1",
            "media_key": f"generic:{uuid.uuid4().hex}",
            "title": "A video",
            "state": RequestState.OFFERED,
            "offer": Offer(heights=(360, 720), audio=True),
            "status_message_id": MESSAGE_ID,
            "created_at": self.now,
            "form": DeliveryForm.MEDIA,
        }
        fields.update(values)
        file = RequestRow(**fields)
        self.files[file.id] = file
        return file

    def request(self, owner: uuid.UUID, state: RequestState, **values: Any) -> RequestRow:
        """A chosen request in `state`."""
        values.setdefault("kind", MediaKind.AUDIO)
        values.setdefault("chosen_at", self.now)
        if state is RequestState.QUEUED:
            values.setdefault("queued_at", self.now)
        return self.offer(owner, state=state, **values)

    def delivered(self, owner: uuid.UUID, **values: Any) -> RequestRow:
        values.setdefault("finished_at", self.now)
        file = self.request(owner, RequestState.DELIVERED, **values)
        file.parts = [FilePart(index=0, telegram_file_id="f0", telegram_file_unique_id="u0")]
        return file

    def playlist(self, owner: uuid.UUID | None, count: int = 3, **values: Any) -> Playlist:
        """A playlist's offer of `count` entries, shown on `MESSAGE_ID` in `CHAT_ID`."""
        entries = playlist_entries(count)
        fields: dict[str, Any] = {
            "id": uuid.uuid4(),
            "chat_id": uuid.uuid4(),
            "chat": Chat(telegram_id=CHAT_ID, type="private"),
            "requested_by_id": owner,
            "request_url": "https://videos.example/list/1",
            "title": "My list",
            "state": RequestState.OFFERED,
            "entries": entries,
            "skipped_count": 0,
            "status_message_id": MESSAGE_ID,
        }
        fields.update(values)
        playlist = Playlist(**fields)
        self.playlists[playlist.id] = playlist
        return playlist

    def items_of(self, playlist_id: uuid.UUID) -> list[RequestRow]:
        items = [file for file in self.files.values() if file.playlist_id == playlist_id]
        return sorted(items, key=lambda file: file.playlist_position or 0)


@dataclass
class FakeTransaction:
    world: World

    async def commit(self) -> None:
        self.world.open = False
        self.world.commits += 1
        self.world.events.append("commit")

    async def rollback(self) -> None:
        self.world.open = False
        self.world.events.append("rollback")


@dataclass
class FakePublisher:
    world: World

    async def publish(self, job: Job, *, cached: bool = False) -> bool:
        assert not self.world.open, "published inside an open transaction"
        self.world.events.append("publish")
        if not self.world.publish_works:
            return False
        self.world.published.append((job.request_id, cached))
        return True


def _pending(file: RequestRow) -> bool:
    return file.state in RequestState.pending_states()


@dataclass
class FakeFiles:
    world: World

    async def get(self, file_id: uuid.UUID) -> RequestRow | None:
        self.world.touch()
        return self.world.files.get(file_id)

    async def get_with_chat(self, file_id: uuid.UUID) -> RequestRow | None:
        return await self.get(file_id)

    async def choose(self, file_id: uuid.UUID, variant: Variant) -> RequestRow | None:
        self.world.touch()
        file = self.world.files.get(file_id)
        if file is None or file.state is not RequestState.OFFERED:
            return None
        file.kind, file.resolution, file.form = variant.kind, variant.resolution, variant.form
        file.state, file.chosen_at = RequestState.ACCEPTED, self.world.now
        return file

    async def set_state(self, file_id: uuid.UUID, state: RequestState) -> bool:
        self.world.touch()
        file = self.world.files.get(file_id)
        if file is None or file.state.is_final:
            return False
        file.state = state
        if state is RequestState.QUEUED:
            file.queued_at = self.world.now
        return True

    async def queue_position(self, file: RequestRow) -> int:
        self.world.touch()
        if file.queued_at is None:
            return 0
        return sum(
            1
            for other in self.world.files.values()
            if other.state is RequestState.QUEUED
            and other.queued_at is not None
            and other.queued_at < file.queued_at
        )

    async def find_delivered(self, media_key: str, variant: Variant) -> RequestRow | None:
        self.world.touch()
        wanted = (media_key, variant.kind, variant.resolution, variant.form)
        return next(
            (
                file
                for file in self.world.files.values()
                if file.state is RequestState.DELIVERED
                and (file.media_key, file.kind, file.resolution, file.form) == wanted
            ),
            None,
        )

    async def count_in_flight_of_user(self, user_id: uuid.UUID) -> int:
        self.world.touch()
        return len(
            {
                file.playlist_id or file.id
                for file in self.world.files.values()
                if file.requested_by_id == user_id and _pending(file)
            }
        )

    async def in_flight_of_user(self, user_id: uuid.UUID) -> Sequence[RequestRow]:
        self.world.touch()
        mine = [
            file
            for file in self.world.files.values()
            if file.requested_by_id == user_id and _pending(file)
        ]
        return sorted(mine, key=lambda file: file.created_at, reverse=True)

    async def presses_since(
        self, user_id: uuid.UUID, since: datetime
    ) -> tuple[int, datetime | None]:
        self.world.touch()
        chosen = [
            file
            for file in self.world.files.values()
            if file.requested_by_id == user_id
            and file.chosen_at is not None
            and file.chosen_at >= since
        ]
        times = [file.chosen_at for file in chosen if file.chosen_at is not None]
        return len({file.playlist_id or file.id for file in chosen}), min(times, default=None)

    async def delivered_of_user(
        self, user_id: uuid.UUID, *, offset: int = 0, limit: int = 10
    ) -> tuple[Sequence[RequestRow], int]:
        self.world.touch()
        delivered = sorted(
            (
                file
                for file in self.world.files.values()
                if file.requested_by_id == user_id
                and file.state is RequestState.DELIVERED
                and file.parts
            ),
            key=lambda file: file.finished_at or START,
            reverse=True,
        )
        return delivered[offset : offset + limit], len(delivered)

    async def offer_again(self, request: RequestRow, status_message_id: int) -> RequestRow:
        self.world.touch()
        for file in self.world.files.values():
            if (
                file.chat_id == request.chat_id
                and file.status_message_id == status_message_id
                and file.state is RequestState.OFFERED
                and file.id != request.id
            ):
                return file
        return self.world.offer(
            request.requested_by_id,
            chat_id=request.chat_id,
            chat=request.chat,
            request_url=request.request_url,
            media_key=request.media_key,
            title=request.title,
            offer=request.offer,
            status_message_id=status_message_id,
        )

    async def again(
        self, delivered: RequestRow, chat_id: uuid.UUID, user_id: uuid.UUID
    ) -> RequestRow:
        self.world.touch()
        file = RequestRow(
            id=uuid.uuid4(),
            chat_id=chat_id,
            requested_by_id=user_id,
            media_key=delivered.media_key,
            kind=delivered.kind,
            resolution=delivered.resolution,
            title=delivered.title,
            form=delivered.form,
            state=RequestState.QUEUED,
            chosen_at=self.world.now,
            queued_at=self.world.now,
            created_at=self.world.now,
        )
        self.world.files[file.id] = file
        return file

    async def cancel_pending_of_user(self, telegram_id: int, reason: str) -> list[uuid.UUID]:
        self.world.touch()
        user_id = self.world.telegram_ids.get(telegram_id)
        ids = [
            file.id
            for file in self.world.files.values()
            if user_id is not None and file.requested_by_id == user_id and _pending(file)
        ]
        for file_id in ids:
            self.world.files[file_id].state = RequestState.CANCELLED
            self.world.files[file_id].error_reason = reason
        return ids


@dataclass
class FakePlaylists:
    world: World

    async def get(self, playlist_id: uuid.UUID) -> Playlist | None:
        self.world.touch()
        return self.world.playlists.get(playlist_id)

    async def get_with_chat(self, playlist_id: uuid.UUID) -> Playlist | None:
        return await self.get(playlist_id)

    async def choose(self, playlist_id: uuid.UUID, kind: MediaKind, resolution: int | None) -> bool:
        self.world.touch()
        playlist = self.world.playlists.get(playlist_id)
        if playlist is None or playlist.state is not RequestState.OFFERED:
            return False
        playlist.state, playlist.chosen_at = RequestState.ACCEPTED, self.world.now
        return True

    async def queue_items(
        self, playlist: Playlist, cached: set[int], form: DeliveryForm = DeliveryForm.MEDIA
    ) -> list[RequestRow]:
        self.world.touch()
        order = sorted(range(len(playlist.entries)), key=lambda index: (index not in cached, index))
        items = []
        for position, index in enumerate(order):
            entry = playlist.entries[index]
            item = self.world.request(
                playlist.requested_by_id or uuid.uuid4(),
                RequestState.QUEUED,
                media_key=entry.media_key,
                title=entry.title,
                kind=playlist.kind,
                resolution=playlist.resolution,
                playlist_id=playlist.id,
                playlist_position=position,
                form=form,
            )
            items.append(item)
        return items

    async def end_items(self, playlist_id: uuid.UUID, state: RequestState, reason: str) -> bool:
        self.world.touch()
        for item in self.world.items_of(playlist_id):
            if _pending(item):
                item.state, item.error_reason = state, reason
        playlist = self.world.playlists.get(playlist_id)
        if playlist is None or playlist.state.is_final:
            return False
        playlist.state = state
        return True

    async def tally(self, playlist_id: uuid.UUID) -> PlaylistTally:
        self.world.touch()
        items = self.world.items_of(playlist_id)
        return PlaylistTally(
            total=len(items),
            delivered=sum(item.state is RequestState.DELIVERED for item in items),
            skipped=sum(item.state is RequestState.FAILED for item in items),
            cancelled=sum(item.state is RequestState.CANCELLED for item in items),
        )

    async def status_settles_in(self, playlist_id: uuid.UUID) -> float:
        self.world.touch()
        return SETTLES_IN_S


@dataclass
class FakeUsers:
    world: World

    async def lock(self, user_id: uuid.UUID) -> None:
        self.world.touch()
        self.world.locked.add(user_id)

    async def set_language(self, user_id: uuid.UUID, language: str | None) -> None:
        self.world.touch()
        self.world.languages[user_id] = language

    async def preferences(self, user_id: uuid.UUID) -> Preferences:
        self.world.touch()
        return self.world.preferences.get(user_id, Preferences())

    async def set_preferences(
        self,
        user_id: uuid.UUID,
        *,
        update_id: int | None = None,
        **change: Unpack[PreferencesChange],
    ) -> None:
        """As the database: a setting a later update set stays."""
        self.world.touch()
        set_by = self.world.settings_set_by.setdefault(user_id, {})
        old = self.world.preferences.get(user_id, Preferences())
        default, form = old.default, old.form
        if (new_default := change.get("default")) is not None and _later(
            update_id, set_by.get("default")
        ):
            default, set_by["default"] = new_default, update_id
        if (new_form := change.get("form")) is not None and _later(update_id, set_by.get("form")):
            form, set_by["form"] = new_form, update_id
        self.world.preferences[user_id] = Preferences(default, form)

    async def set_banned(self, telegram_id: int, banned: bool) -> bool:
        self.world.touch()
        if telegram_id not in self.world.telegram_ids:
            return False
        if banned:
            self.world.banned.add(telegram_id)
        else:
            self.world.banned.discard(telegram_id)
        return True


def later(world: World, minutes: float) -> None:
    """Move the world's clock on."""
    world.now += timedelta(minutes=minutes)


def _later(update_id: int | None, set_by: int | None) -> bool:
    """Whether a change by `update_id` comes after the one by `set_by` (None: unordered)."""
    return update_id is None or set_by is None or set_by < update_id
