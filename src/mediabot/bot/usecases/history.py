"""/history: a user's delivered files, a page at a time, and sending one of them again.

Sending again is a new request for the same media, kind and resolution, queued like a
press: the worker finds the earlier delivery's Telegram file ids and resends them (no
download, no upload), through the cached lane. It counts against the user's requests in
flight while it runs.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from mediabot.bot.usecases.choose import Refused
from mediabot.bot.usecases.limits import (
    LimitRefusal,
    Limits,
    refused_by_limits,
    taken_meanwhile,
)
from mediabot.bot.usecases.ports import Ports, Reply
from mediabot.db.models import RequestRow
from mediabot.domain.enums import RequestState
from mediabot.domain.jobs import Job

logger = logging.getLogger(__name__)

PAGE_SIZE = 10


@dataclass(frozen=True, slots=True)
class Page:
    """Page `page` (from 0) of `pages`; `files` numbered from `first`. No pages: no history."""

    files: Sequence[RequestRow]
    page: int
    pages: int

    @property
    def first(self) -> int:
        return self.page * PAGE_SIZE + 1


async def page(ports: Ports, user_id: uuid.UUID, number: int) -> Page:
    """Page `number` of the user's delivered files, latest first; the last page when
    `number` is past the end (a forged press, or history that shrank)."""
    delivered, total = await ports.files.delivered_of_user(
        user_id, offset=number * PAGE_SIZE, limit=PAGE_SIZE
    )
    await ports.transaction.commit()
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    if total and number >= pages:
        return await page(ports, user_id, pages - 1)
    return Page(delivered, number, pages)


@dataclass(frozen=True, slots=True)
class SendingAgain:
    """A new request `request_id` sends `delivered` again."""

    request_id: uuid.UUID
    delivered: uuid.UUID


Resent = SendingAgain | Refused | LimitRefusal


async def send_again(
    ports: Ports,
    delivered_id: uuid.UUID,
    user_id: uuid.UUID,
    chat_id: uuid.UUID,
    limits: Limits,
    reply: Reply[Resent],
) -> None:
    """Queue a delivered file of the user's again: `reply` is told how it went, then the
    job is published on the cached lane."""
    resent = await _record(ports, delivered_id, user_id, chat_id, limits)
    await reply(resent)
    if isinstance(resent, SendingAgain) and await ports.publisher.publish(
        Job(resent.request_id), cached=True
    ):
        logger.info("request %s: %s sent again from the history", resent.request_id, delivered_id)


async def _record(
    ports: Ports, delivered_id: uuid.UUID, user_id: uuid.UUID, chat_id: uuid.UUID, limits: Limits
) -> Resent:
    delivered = await ports.files.get(delivered_id)
    if (
        delivered is None
        or delivered.requested_by_id != user_id
        or delivered.state is not RequestState.DELIVERED
    ):
        await ports.transaction.commit()
        logger.warning("refused resend of %s by user row %s", delivered_id, user_id)
        return Refused.NOT_AVAILABLE
    refusal = await refused_by_limits(ports, user_id, limits)
    if refusal is not None:
        return refusal
    if full := await taken_meanwhile(ports, user_id, limits.max_active):
        return full
    again = await ports.files.again(delivered, chat_id, user_id)
    await ports.transaction.commit()
    return SendingAgain(again.id, delivered.id)
