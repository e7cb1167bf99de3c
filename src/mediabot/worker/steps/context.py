"""What the steps of one job share: the request, the store, the status, the ending flag."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from mediabot.domain.enums import RequestState
from mediabot.senders.base import InlinePlace, SendTarget
from mediabot.worker.ports import RequestsStore, Status
from mediabot.worker.request import Request

logger = logging.getLogger(__name__)


class LeftOurHandsError(Exception):
    """The request left this worker's hands: the user cancelled it, or the lease was lost.

    Raised by `JobContext.move` wherever a step finds out, it unwinds the job to the
    pipeline, which says "Cancelled." when that is what happened.
    """


@dataclass
class JobContext:
    """One claimed request being worked on."""

    request: Request
    requests: RequestsStore
    status: Status
    ending: bool = False
    """Set when the work itself ends the request: its final state then stops no one."""
    inline: InlinePlace | None = None
    """An inline request's message, which the delivery is put into."""
    cache_went_stale: bool = False
    """Set when Telegram refused the cached file ids: only a fetch serves it now."""

    def target(self, title: str) -> SendTarget:
        """Where the request's files go, captioned with `title` and the link."""
        request = self.request
        return SendTarget.for_media(
            request.chat_telegram_id,
            title,
            request.url,
            request.reply_to_message_id,
            request.message_thread_id,
            self.inline,
        )

    async def move(self, state: RequestState, **values: object) -> None:
        """Move the request to `state`; `LeftOurHandsError` when it is no longer ours."""
        if state.is_final:
            self.ending = True
        if not await self.requests.set_state(self.request.id, state, **values):
            raise LeftOurHandsError
