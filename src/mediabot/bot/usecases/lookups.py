"""Asking for a lookup: the request recorded, its job published on the lookup lane.

The bot never looks a link up itself (yt-dlp and ffprobe run in the workers' lookup lane,
`worker/lookups.py`): a message's links, a `/dl` and an inline query are recorded as one
`LookupRequest` each (who asked, where the answer goes, in which language) and published as
a job; a worker answers it with the keyboard, the inline results or a plain reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from mediabot.bot.outages import UpdateHold
from mediabot.db.lookups import LookupRequests
from mediabot.db.models import LookupRequest, RequestRow
from mediabot.db.repositories import RequestRows
from mediabot.domain.clips import Clip
from mediabot.domain.jobs import Job
from mediabot.domain.lookups import LookupKind
from mediabot.queue.base import JobQueue

logger = logging.getLogger(__name__)


class LookupRecords(Protocol):
    async def record(self, request: LookupRequest) -> uuid.UUID:
        """Record the request (committed); its id."""

    async def delivered_for_url(self, url: str) -> Sequence[RequestRow]:
        """The whole files this very link was delivered as (no lookup tells more here)."""

    async def last_asked(self, telegram_chat_id: int, message_id: int) -> Asked | None:
        """What the message was last asked to be looked up for, if it was (and is kept)."""


class Publish(Protocol):
    async def __call__(self, job: Job) -> bool:
        """Hand the job to the lookup lane; False when the broker stayed away past the
        update's life (the request stays recorded: the workers' sweep answers it)."""


@dataclass(frozen=True, slots=True)
class Asked:
    """The links a message asks for and the clip asked of each (`Clip.key`, None: whole)."""

    urls: list[str]
    clips: list[str | None]

    @classmethod
    def of(cls, urls: list[str], clips: Sequence[Clip | None] | None = None) -> Asked:
        keys = [None if clip is None else clip.key for clip in clips or []]
        return cls(list(urls), keys + [None] * (len(urls) - len(keys)))

    @classmethod
    def of_request(cls, request: LookupRequest) -> Asked:
        clips = list(request.clips or [])
        return cls(list(request.urls), clips + [None] * (len(request.urls) - len(clips)))


@dataclass(frozen=True, slots=True)
class LinksPlace:
    """Where a message with links came from, and so where its answers go."""

    chat_row_id: uuid.UUID
    user_row_id: uuid.UUID
    telegram_chat_id: int
    message_id: int
    thread_id: int | None
    """The forum topic of the message, when it is in one."""
    in_group: bool
    locale: str
    update_id: int | None = None
    """The update that asked (a message or its edit), when an update did: it orders the
    edits of one message (`db.lookups.LookupRequests.superseded`)."""


@dataclass(frozen=True, slots=True)
class AskLookup:
    """Records a lookup request and publishes its job."""

    records: LookupRecords
    publish: Publish

    async def for_links(
        self, place: LinksPlace, urls: list[str], clips: Sequence[Clip | None] | None = None
    ) -> uuid.UUID:
        """Ask for the links of one message to be looked up and answered in its chat;
        `clips`: the clip asked of each link (None: the whole video)."""
        return await self._ask(_in_chat(LookupKind.MESSAGE, place, Asked.of(urls, clips)))

    async def for_message(
        self,
        place: LinksPlace,
        urls: list[str],
        clips: Sequence[Clip | None] | None = None,
        *,
        edited: bool = False,
    ) -> uuid.UUID | None:
        """`for_edited` for an edited message, else `for_links`."""
        if edited:
            return await self.for_edited(place, urls, clips)
        return await self.for_links(place, urls, clips)

    async def for_edited(
        self, place: LinksPlace, urls: list[str], clips: Sequence[Clip | None] | None = None
    ) -> uuid.UUID | None:
        """An edited message: its links are asked for when they (or their clips) differ
        from what the message was last asked for, so a corrected link is answered once
        and an edit elsewhere in the text is not; None when nothing changed."""
        last = await self.records.last_asked(place.telegram_chat_id, place.message_id)
        if last is not None and last == Asked.of(urls, clips):
            logger.info(
                "chat %s: message %s edited, its links unchanged",
                place.telegram_chat_id,
                place.message_id,
            )
            return None
        return await self.for_links(place, urls, clips)

    async def for_subtitles(self, place: LinksPlace, url: str, clip: Clip | None) -> uuid.UUID:
        """Ask for the subtitles of `url` (cut to `clip`) to be sent to the chat of
        `place`, replying to its message (the offer pressed)."""
        return await self._ask(_in_chat(LookupKind.SUBTITLES, place, Asked.of([url], [clip])))

    async def for_inline_query(
        self,
        user_row_id: uuid.UUID,
        query_id: str,
        url: str,
        locale: str,
        clip: Clip | None = None,
    ) -> Sequence[RequestRow]:
        """The files the link was delivered as, for the bot to answer with at once; else
        (empty) the link is asked to be looked up, and a worker answers the query.
        `clip`: the clip the query asked for; inline results are whole videos, and the
        worker says so above them."""
        delivered = await self.records.delivered_for_url(url)
        if delivered:
            return delivered
        request = LookupRequest(
            kind=LookupKind.INLINE,
            user_id=user_row_id,
            inline_query_id=query_id,
            urls=[url],
            clips=None if clip is None else [clip.key],
            locale=locale,
            in_group=False,
        )
        await self._ask(request)
        return []

    async def _ask(self, request: LookupRequest) -> uuid.UUID:
        request_id = await self.records.record(request)
        if await self.publish(Job(request_id)):
            logger.info("lookup %s: %d link(s) asked for", request_id, len(request.urls))
        return request_id


def _in_chat(kind: LookupKind, place: LinksPlace, asked: Asked) -> LookupRequest:
    """A request whose answer goes to the chat of `place`, replying to its message."""
    return LookupRequest(
        kind=kind,
        user_id=place.user_row_id,
        chat_id=place.chat_row_id,
        telegram_chat_id=place.telegram_chat_id,
        message_id=place.message_id,
        message_thread_id=place.thread_id,
        in_group=place.in_group,
        urls=asked.urls,
        clips=asked.clips if any(asked.clips) else None,
        locale=place.locale,
        update_id=place.update_id,
    )


@dataclass(frozen=True, slots=True)
class SessionLookupRecords:
    """`LookupRecords` over the update's session (its engine, for the request recorded in a
    statement of its own), each step held through a database outage."""

    session: AsyncSession
    hold: UpdateHold

    async def record(self, request: LookupRequest) -> uuid.UUID:
        engine = self.session.bind
        assert isinstance(engine, AsyncEngine), "sessions are bound to one engine"
        return await self.hold(lambda: LookupRequests.record(engine, request))

    async def delivered_for_url(self, url: str) -> Sequence[RequestRow]:
        async def step() -> Sequence[RequestRow]:
            files = RequestRows(self.session)
            key = await files.delivered_key_of_url(url)
            delivered = await files.delivered_whole(key) if key is not None else []
            await self.session.commit()  # end the read: the update's session stays open
            return delivered

        return await self.hold(step, session=self.session)

    async def last_asked(self, telegram_chat_id: int, message_id: int) -> Asked | None:
        async def step() -> Asked | None:
            last = await LookupRequests.last_for_message(self.session, telegram_chat_id, message_id)
            await self.session.commit()  # end the read: the update's session stays open
            return None if last is None else Asked.of_request(last)

        return await self.hold(step, session=self.session)


def ask_lookup(session: AsyncSession, hold: UpdateHold, lookup_queue: JobQueue) -> AskLookup:
    """The use case over the update's session and hold, publishing on `lookup_queue`."""

    async def publish(job: Job) -> bool:
        return await hold.publish(lookup_queue, job)

    return AskLookup(SessionLookupRecords(session, hold), publish)
