"""What several repositories share: the session they are given and a few SQL pieces."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mediabot.db.base import utcnow
from mediabot.db.models import FilePart, Playlist, RequestRow
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.preferences import DeliveryForm


class Repository:
    """Queries over one session. A repository never commits: the caller owns the
    transaction, so several repositories' writes land together or not at all."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session


def choice(
    model: type[RequestRow] | type[Playlist],
    row_id: uuid.UUID,
    kind: MediaKind,
    resolution: int | None,
) -> Any:
    """The UPDATE that records a choice on an offer (a request's or a playlist's), only
    while it is still offered: of two presses, one changes the row."""
    now = utcnow()
    return (
        update(model)
        .where(model.id == row_id, model.state == RequestState.OFFERED)
        .values(
            kind=kind,
            resolution=resolution,
            state=RequestState.ACCEPTED,
            chosen_at=now,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def queued_request(now: datetime, **columns: Any) -> RequestRow:
    """A new request with these `columns`, chosen and queued at `now` (requests queued
    together share the moment: none of them counts as a turn the others waited for)."""
    return RequestRow(state=RequestState.QUEUED, chosen_at=now, queued_at=now, **columns)


def same_media(
    media_key: str,
    kind: MediaKind | None,
    resolution: int | None,
    form: DeliveryForm = DeliveryForm.MEDIA,
) -> tuple[Any, ...]:
    """The conditions a request for this media in this kind, resolution and form meets.

    The form is part of the key: a video sent to play in the chat and the same video sent
    as a document are different Telegram files, never resent for one another.
    """
    return (
        RequestRow.media_key == media_key,
        RequestRow.kind == kind,
        RequestRow.resolution.is_(None)
        if resolution is None
        else RequestRow.resolution == resolution,
        RequestRow.form == form,
    )


def has_parts() -> Any:
    """Whether the request has delivered parts: deliveries whose Telegram file ids proved
    stale lose their parts, and with them their place in the cache."""
    return select(FilePart.id).where(FilePart.file_id == RequestRow.id).exists()
