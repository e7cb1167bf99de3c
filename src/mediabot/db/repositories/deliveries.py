"""The cache of deliveries: Telegram file ids of media sent once, to send again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from mediabot.db.models import FilePart, RequestRow
from mediabot.db.repositories._common import Repository, has_parts, same_media
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Variant
from mediabot.domain.preferences import DeliveryForm


def _latest_deliveries(*conditions: Any) -> Select[RequestRow]:
    """Deliveries meeting `conditions` that still have their parts, latest first, with
    their parts loaded."""
    return (
        select(RequestRow)
        .where(*conditions, RequestRow.state == RequestState.DELIVERED, has_parts())
        .options(selectinload(RequestRow.parts))
        .order_by(RequestRow.finished_at.desc())
    )


class DeliveryRepository(Repository):
    """Delivered requests and their parts, the Telegram file ids they were sent as."""

    async def find_delivered(self, media_key: str, variant: Variant) -> RequestRow | None:
        """The latest delivery of this media in `variant`, with its parts."""
        conditions = same_media(media_key, variant.kind, variant.resolution, variant.form)
        statement = _latest_deliveries(*conditions).limit(1)
        return await self._session.scalar(statement)

    async def delivered_whole(self, media_key: str, limit: int = 200) -> list[RequestRow]:
        """The latest delivery of this media in each kind and resolution that came as one
        file (with its part) to play in the chat: what an inline query can be answered
        with at once (a document is not the video or audio result it would offer)."""
        statement = _latest_deliveries(
            RequestRow.media_key == media_key, RequestRow.form == DeliveryForm.MEDIA
        ).limit(limit)
        latest: dict[tuple[MediaKind | None, int | None], RequestRow] = {}
        for file in await self._session.scalars(statement):
            latest.setdefault((file.kind, file.resolution), file)
        return [file for file in latest.values() if len(file.parts) == 1]

    async def delivered_key_of_url(self, url: str) -> str | None:
        """The media key a delivery of exactly this link was recorded under: the key of a
        link whose URL does not tell it (a page), known without looking it up again."""
        statement = (
            select(RequestRow.media_key)
            .where(RequestRow.request_url == url, RequestRow.state == RequestState.DELIVERED)
            .order_by(RequestRow.finished_at.desc())
            .limit(1)
        )
        return await self._session.scalar(statement)

    async def add_part(self, file_id: uuid.UUID, part: FilePart) -> None:
        part.file_id = file_id
        self._session.add(part)
        await self._session.flush()

    async def parts_of(self, file_id: uuid.UUID) -> Sequence[FilePart]:
        statement = select(FilePart).where(FilePart.file_id == file_id).order_by(FilePart.index)
        return (await self._session.scalars(statement)).all()

    async def drop_parts(self, file_id: uuid.UUID) -> None:
        """Forget the parts of a delivery whose Telegram file ids stopped working."""
        parts = await self.parts_of(file_id)
        for part in parts:
            await self._session.delete(part)
        await self._session.flush()
