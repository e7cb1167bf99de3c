"""The tables: users, chats, providers, playlists, files (one row per request), file_parts.

Relations: a user has many chats (the user who brought the bot into the chat), a chat has
many files, a provider has many files, a file has many parts; a playlist's chosen items
are files too, one request each. UUID keys everywhere;
Telegram's own ids are BIGINT columns with unique constraints.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from mediabot.db.base import Base, UtcDateTime, utcnow
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.media import TITLE_MAX_CHARS
from mediabot.domain.offer import Offer
from mediabot.domain.playlist import PlaylistEntry
from mediabot.domain.preferences import DefaultChoice, DeliveryForm


def _enum(enum_class: type[StrEnum], name: str) -> Enum:
    # Stored as text with a CHECK constraint: portable, and a new member is a plain migration.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class User(_Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str] = mapped_column(String(256), default="")
    last_name: Mapped[str | None] = mapped_column(String(256))
    language_code: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    """The language chosen with /language (a `mediabot.i18n` locale); None: Telegram's."""
    banned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When an admin banned the user (/ban); None: served. A banned user is told once."""
    default_choice: Mapped[DefaultChoice] = mapped_column(
        _enum(DefaultChoice, "default_choice"), default=DefaultChoice.ASK, server_default="ask"
    )
    """What a link alone brings (/settings): the keyboard, a height, or the audio."""
    delivery_form: Mapped[DeliveryForm] = mapped_column(
        _enum(DeliveryForm, "delivery_form"), default=DeliveryForm.MEDIA, server_default="media"
    )
    """How this user's files come (/settings); copied onto each request when chosen."""
    default_choice_update_id: Mapped[int | None] = mapped_column(BigInteger)
    default_choice_set_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivery_form_update_id: Mapped[int | None] = mapped_column(BigInteger)
    delivery_form_set_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The Telegram update that last set each setting, and when: a press of an earlier
    update is not applied (`UserRepository.set_preferences`); None: set without one."""

    chats: Mapped[list[Chat]] = relationship(back_populates="user")


class Chat(_Timestamps, Base):
    __tablename__ = "chats"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(256))
    blocked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When Telegram refused to let the bot write here (blocked, kicked); cleared when the
    chat writes to the bot again. Nothing is sent to a blocked chat meanwhile."""

    user: Mapped[User] = relationship(back_populates="chats")
    files: Mapped[list[RequestRow]] = relationship(back_populates="chat")


class ProviderRow(Base):
    """One row per site, created the first time a request of it is recorded
    (`ProviderRepository.id_of`); the first migration seeds the sites mediabot ships with."""

    __tablename__ = "providers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(16), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))

    files: Mapped[list[RequestRow]] = relationship(back_populates="provider")


class _OfferJson(TypeDecorator[Offer]):
    """An `Offer` kept as JSON; a plain dict of the same shape (old rows) is accepted too."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: Offer | dict[str, Any] | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        return Offer.model_validate(value).model_dump(mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> Offer | None:
        return None if value is None else Offer.model_validate(value)


class _EntriesJson(TypeDecorator[tuple[PlaylistEntry, ...]]):
    """A playlist's entries kept as a JSON list."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: tuple[PlaylistEntry, ...] | None, dialect: Dialect
    ) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        return [PlaylistEntry.model_validate(entry).model_dump(mode="json") for entry in value]

    def process_result_value(
        self, value: Any, dialect: Dialect
    ) -> tuple[PlaylistEntry, ...] | None:
        if value is None:
            return None
        return tuple(PlaylistEntry.model_validate(entry) for entry in value)


class Playlist(_Timestamps, Base):
    """A playlist link offered, and once chosen, the one choice all its items were queued in.

    `state` is `OFFERED`, then `ACCEPTED` when a choice queued its items (one `RequestRow` per
    item, in order), `CANCELLED` when its ✖ stopped what was left, `DELIVERED` once every
    item ended. The items' own states tell what was delivered and what was skipped.
    """

    __tablename__ = "playlists"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    chat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chats.id", ondelete="CASCADE"), index=True
    )
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    request_url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX_CHARS))
    state: Mapped[RequestState] = mapped_column(_enum(RequestState, "request_state"))
    entries: Mapped[tuple[PlaylistEntry, ...]] = mapped_column(_EntriesJson)
    """The items offered (at most `PLAYLIST_MAX_ITEMS`), in the playlist's order."""
    total_count: Mapped[int | None] = mapped_column(Integer)
    """How many items the source says it has (more than offered when capped)."""
    skipped_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Entries the listing left out: repeats, nested playlists, entries without a link."""
    kind: Mapped[MediaKind | None] = mapped_column(_enum(MediaKind, "media_kind"))
    resolution: Mapped[int | None] = mapped_column(Integer)
    """The height chosen: each item comes at its best height up to it."""
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    """The one status message of the whole playlist, with its offer and then its ✖."""
    status_edits_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the last edit of the status message allowed so far has landed or been dropped
    (`PlaylistRepository.allow_status_edit`); the playlist's last word waits for it."""
    link_message_id: Mapped[int | None] = mapped_column(BigInteger)
    message_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    chosen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    chat: Mapped[Chat] = relationship()
    items: Mapped[list[RequestRow]] = relationship(
        back_populates="playlist", order_by="RequestRow.playlist_position"
    )


class RequestRow(_Timestamps, Base):
    """One request for a piece of media, from the offer of choices to its ending: a row of
    the `files` table (the seed's name), which the worker sees as a `worker.request.Request`.

    `resolution` is the video height asked for; it is NULL for audio and photos.
    `offer` keeps what the link offered, so a button press can be checked against it.
    """

    __tablename__ = "files"
    __table_args__ = (
        # The cache: "is this media, in this kind and resolution, already delivered?"
        Index("ix_files_cache", "media_key", "kind", "resolution", "state"),
        # History: "this chat's recent files".
        Index("ix_files_chat_recent", "chat_id", "created_at"),
        # Recovery and queue position: "requests in a given state, oldest first".
        Index("ix_files_state_created", "state", "created_at"),
        # The hourly limit and the most active users: "this user's presses since".
        Index("ix_files_requester_chosen", "requested_by_id", "chosen_at"),
        # Active users: "did this user send a link since".
        Index("ix_files_requester_created", "requested_by_id", "created_at"),
        # A playlist's items in their order of delivery.
        Index("ix_files_playlist_position", "playlist_id", "playlist_position"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    chat_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    provider_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("providers.id", ondelete="RESTRICT"), index=True
    )
    requested_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    request_url: Mapped[str] = mapped_column(Text)
    media_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[MediaKind | None] = mapped_column(_enum(MediaKind, "media_kind"))
    resolution: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[RequestState] = mapped_column(_enum(RequestState, "request_state"))
    title: Mapped[str | None] = mapped_column(String(TITLE_MAX_CHARS))
    duration_s: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error_reason: Mapped[str | None] = mapped_column(Text)
    offer: Mapped[Offer | None] = mapped_column(_OfferJson)
    status_message_id: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    chosen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """When the button was pressed (the hourly limit, press-to-file time)."""
    link_message_id: Mapped[int | None] = mapped_column(BigInteger)
    """In a group: the message with the link, which the file replies to."""
    message_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    """In a forum group: the topic of the link, where the file goes."""
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    fetch_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    progress_percent: Mapped[int | None] = mapped_column(SmallInteger)
    """While downloading: how far, as the worker last renewed its lease (for /queue)."""
    parts_total: Mapped[int | None] = mapped_column(Integer)
    """While uploading: the parts in all, once known (for /queue)."""
    playlist_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("playlists.id", ondelete="SET NULL")
    )
    """The playlist this request is an item of (None: a link of its own)."""
    playlist_position: Mapped[int | None] = mapped_column(Integer)
    """The item's turn in its playlist (cached items first, then the playlist's order): no
    item is worked on while an earlier one is pending."""
    inline_message_id: Mapped[str | None] = mapped_column(String(128))
    """Chosen through inline mode: the message posted in the user's chat, edited into the
    file (the request's own chat is then the storage chat the file is uploaded to)."""
    form: Mapped[DeliveryForm] = mapped_column(
        _enum(DeliveryForm, "delivery_form"), default=DeliveryForm.MEDIA, server_default="media"
    )
    """How the file is sent: media, or a document with the original streams. Part of the
    cache's key: a delivery in one form is never resent for a request in the other."""
    chosen_by_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Chosen by its owner's default (/settings), not by a press: once delivered, its status
    message stays as a short line with "⚙ Other choices"."""

    chat: Mapped[Chat] = relationship(back_populates="files")
    provider: Mapped[ProviderRow] = relationship(back_populates="files")
    requested_by: Mapped[User | None] = relationship()
    """Who pressed the choice (their language is the one the worker speaks)."""
    playlist: Mapped[Playlist | None] = relationship(back_populates="items")
    parts: Mapped[list[FilePart]] = relationship(
        back_populates="file", order_by="FilePart.index", cascade="all, delete-orphan"
    )


class FilePart(Base):
    """One delivered Telegram file of a request: the only one, or part i of N."""

    __tablename__ = "file_parts"
    __table_args__ = (
        UniqueConstraint("file_id", "index"),
        # Cache hits in the statistics: "was this Telegram file sent before".
        Index("ix_file_parts_unique_created", "telegram_file_unique_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    file_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    kind: Mapped[MediaKind] = mapped_column(_enum(MediaKind, "media_kind"))
    telegram_file_id: Mapped[str] = mapped_column(String(256))
    telegram_file_unique_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    start_s: Mapped[float | None] = mapped_column(Float)
    end_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    file: Mapped[RequestRow] = relationship(back_populates="parts")


class TelegramBucket(Base):
    """One bucket of Telegram's limits, shared by every process of the bot (`db/budget.py`).

    Keyed by the chat's Telegram id; 0 (no chat has it) is the bot as a
    whole. `tat` (the bucket's theoretical arrival time), `flood_at` (the last 429 in
    this chat) and `flood_until` (the latest end of the waits this chat was told) are
    seconds since the epoch on the database's clock, the one clock all processes share.
    """

    __tablename__ = "telegram_budget"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tat: Mapped[float] = mapped_column(Float)
    flood_at: Mapped[float | None] = mapped_column(Float)
    flood_until: Mapped[float | None] = mapped_column(Float)


class AdminAlert(Base):
    """The last warning of a kind sent to the admins by any process (`db/alerts.py`).

    `sent_at` is seconds since the epoch on the database's clock, the one clock all
    processes share.
    """

    __tablename__ = "admin_alerts"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    sent_at: Mapped[float] = mapped_column(Float)


class UpdateClaim(Base):
    """A Telegram update taken by one bot process (`db/updates.py`), so that it is handled
    once however many times and to whichever process Telegram delivers it.

    `owner` names the process and the claim. `claimed_at`, `lease_until` and `handled_at`
    are seconds since the epoch on the database's clock, the one clock all processes share:
    the claim holds while `lease_until` is ahead (its process renews it while it handles
    the update); `handled_at` set means done. Rows are pruned after a day.
    """

    __tablename__ = "updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    owner: Mapped[str] = mapped_column(String(160))
    claimed_at: Mapped[float] = mapped_column(Float)
    lease_until: Mapped[float] = mapped_column(Float)
    handled_at: Mapped[float | None] = mapped_column(Float)


class LookupRequest(Base):
    """A link (or the links of one message, or an inline query) waiting for its answer from
    the lookup lane (`worker/lookups.py`): recorded by the bot, answered by one worker.

    `state` is `pending` until a worker claims the answer (`answering`: it is about to send
    it, so no other worker sends it again), then `answered`. `owner`/`lease_until` say
    which worker is looking it up; a worker that died leaves a lease that runs out, and the
    next delivery of its job takes over. `placeholders` are the "looking up" messages sent
    for a slow lookup, one per link (None where none was sent), edited into the answer.
    Times are seconds since the epoch on the database's clock (`db/updates.py`).
    """

    __tablename__ = "lookup_requests"
    __table_args__ = (
        Index("ix_lookup_requests_state_created", "state", "created_at"),
        Index("ix_lookup_requests_message", "telegram_chat_id", "message_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    chat_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    """The message with the link(s), which the answers reply to."""
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    """The Telegram update that asked (a message or its edit): Telegram numbers updates in
    the order they happened, so the highest is a message's last version."""
    message_thread_id: Mapped[int | None] = mapped_column(BigInteger)
    in_group: Mapped[bool] = mapped_column(Boolean, default=False)
    inline_query_id: Mapped[str | None] = mapped_column(String(64))
    urls: Mapped[list[str]] = mapped_column(JSON)
    clips: Mapped[list[str | None] | None] = mapped_column(JSON)
    """Per link, the key of the clip asked of it (`domain.clips.Clip.key`), None for the
    whole video; None altogether when no link asks for a clip."""
    locale: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    owner: Mapped[str | None] = mapped_column(String(160))
    lease_until: Mapped[float | None] = mapped_column(Float)
    placeholders: Mapped[list[int | None] | None] = mapped_column(JSON)
    created_at: Mapped[float] = mapped_column(Float)
    answered_at: Mapped[float | None] = mapped_column(Float)


class SharedLookup(Base):
    """One link's lookup, shared by every request for it across the fleet (`db/lookups.py`).

    `state` is `running` while `owner` holds the lease, then `done` (`answer` holds what the
    link offers) or `failed` (`answer` holds the error, given only to requests that were
    already waiting). Times are seconds since the epoch on the database's clock.
    """

    __tablename__ = "lookups"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(160))
    lease_until: Mapped[float] = mapped_column(Float)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, index=True)
