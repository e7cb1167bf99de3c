"""The rows a lookup's answer records: a link's offer (or its clip's) and a playlist's.

Each waits for its choice in the chat the link came from; the caller commits.
"""

from __future__ import annotations

import uuid
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.db.models import LookupRequest, Playlist, RequestRow
from mediabot.db.repositories import PlaylistRepository, ProviderRepository, RequestRows
from mediabot.domain.clips import Clip, media_key_of
from mediabot.domain.enums import RequestState
from mediabot.domain.lookups import LookupKind
from mediabot.domain.media import TITLE_MAX_CHARS, MediaOptions
from mediabot.domain.offer import Offer
from mediabot.domain.playlist import PlaylistOptions


async def record_offer(
    session: AsyncSession,
    chat_row_id: uuid.UUID | None,
    request: LookupRequest,
    url: str,
    options: MediaOptions,
    shown_on: int | None,
    clip: Clip | None = None,
) -> RequestRow:
    """Record what a link offers, as a request of the chat's waiting for its choice (shown
    on `shown_on`); with `clip`, the offer of that clip, its own cache entry
    (`media_key_of`), titled with its range and as long as it. Not committed."""
    assert chat_row_id is not None
    title = options.title
    duration_s = options.duration_s
    if clip is not None:
        title = f"✂ {clip.label} {options.title or ''}".strip()
        duration_s = clip.length_s(options.duration_s) if options.duration_s else None
    return await RequestRows(session).add(
        RequestRow(
            **_waiting(request, chat_row_id, shown_on),
            provider_id=await ProviderRepository(session).id_of(options.provider),
            request_url=url,
            media_key=media_key_of(options.media_key, clip),
            title=title[:TITLE_MAX_CHARS] if title else None,
            duration_s=duration_s,
            offer=Offer.of(options),
        )
    )


async def add_playlist(
    session: AsyncSession, request: LookupRequest, shown_on: int | None, options: PlaylistOptions
) -> Playlist:
    """Record a playlist's offer, waiting for its one choice (shown on `shown_on`). Not
    committed."""
    assert request.chat_id is not None
    return await PlaylistRepository(session).add(
        Playlist(
            **_waiting(request, request.chat_id, shown_on),
            request_url=options.url,
            title=options.title,
            entries=options.entries,
            total_count=options.total_count,
            skipped_count=options.skipped,
        )
    )


class _Waiting(TypedDict):
    chat_id: uuid.UUID
    requested_by_id: uuid.UUID | None
    state: RequestState
    status_message_id: int | None
    link_message_id: int | None
    message_thread_id: int | None


def _waiting(request: LookupRequest, chat_row_id: uuid.UUID, shown_on: int | None) -> _Waiting:
    """The columns of an offer (a link's or a playlist's) of `request`'s, waiting in the
    chat `chat_row_id` for its choice, shown on `shown_on`. In a group its files reply to
    the link, in its forum topic; an inline query's files reply to nothing."""
    inline = request.kind == LookupKind.INLINE
    return _Waiting(
        chat_id=chat_row_id,
        requested_by_id=request.user_id,
        state=RequestState.OFFERED,
        status_message_id=shown_on,
        link_message_id=request.message_id if request.in_group and not inline else None,
        message_thread_id=None if inline else request.message_thread_id,
    )
