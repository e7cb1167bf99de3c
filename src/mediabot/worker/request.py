"""What the worker's steps know of a request: a plain snapshot, no ORM, no session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mediabot.domain.enums import MediaKind
from mediabot.domain.offer import Offer
from mediabot.domain.preferences import DeliveryForm
from mediabot.senders.cached import CachedPart


@dataclass(frozen=True, slots=True)
class PlaylistPlace:
    """Where a request stands in its playlist: its turn (from 0) among `total` items."""

    playlist_id: uuid.UUID
    position: int
    total: int


@dataclass(frozen=True, slots=True)
class Request:
    """A claimed request, as the requests store read it when the job started.

    `resolution` is the video height asked for; None means "no resolution" (audio, photos),
    the one meaning of it in the worker, the database and the offer.
    """

    id: uuid.UUID
    chat_id: uuid.UUID
    """The chat's row id."""
    chat_telegram_id: int
    chat_blocked: bool
    kind: MediaKind
    resolution: int | None
    media_key: str
    url: str
    title: str | None
    offer: Offer | None
    status_message_id: int | None
    delivered_parts: int = 0
    """Parts an earlier attempt already delivered."""
    reply_to_message_id: int | None = None
    """In a group: the message with the link, which the files reply to (in its topic)."""
    message_thread_id: int | None = None
    """In a forum group: the link's topic, where the files go."""
    locale: str = "en"
    """The requester's language (`mediabot.i18n`): the worker speaks it for this request."""
    attempts: int = 1
    """Tries of this request so far, the current one included (the database's count)."""
    playlist: PlaylistPlace | None = None
    """The playlist this request is an item of; its `resolution` is then the highest
    height wanted until the item's own best height up to it is settled."""
    inline_message_id: str | None = None
    """Chosen through inline mode: the message the file is put in (its status meanwhile);
    the request's chat is then the storage chat the file is uploaded to."""
    form: DeliveryForm = DeliveryForm.MEDIA
    """How the files are sent: media that plays in the chat, or documents."""


@dataclass(frozen=True, slots=True)
class CachedDelivery:
    """An earlier delivery of the same media whose Telegram file ids may be sent again."""

    id: uuid.UUID
    parts: tuple[CachedPart, ...]
    size_bytes: int | None
    title: str | None


@dataclass(frozen=True, slots=True)
class Claim:
    """The outcome of claiming a request: ours (with the request), waiting, or not ours."""

    claimed: bool
    waiting: bool = False
    """The user already has their share of requests running."""
    request: Request | None = None
    """None when claimed but there is no such request, or no choice was made."""
    taken: uuid.UUID | None = None
    """The request claimed: the fairest one, not always the one the job named."""
