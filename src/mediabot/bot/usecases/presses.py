"""Whether a press on an offer's buttons (a link's or a playlist's) may act on the offer.

It may when the offer exists, its buttons are on the message pressed (in its chat), and
the presser is the person who sent the link: in a group only they may choose or cancel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import Enum

from mediabot.bot.usecases.ports import Ports
from mediabot.db.models import Playlist, RequestRow


class Verdict(Enum):
    NOT_AVAILABLE = "not available"
    """No such offer, or not on this message: an expired or forged press."""
    NOT_THE_SENDER = "not the sender"


@dataclass(frozen=True, slots=True)
class Press:
    """A press on an offer's button: the offer it names (a playlist's, or a link's), the
    message pressed (its chat's and its own Telegram id), and the presser's user row."""

    offer_id: uuid.UUID
    playlist: bool
    chat_id: int
    message_id: int
    user_id: uuid.UUID | None


async def pressed_offer(ports: Ports, press: Press) -> RequestRow | Playlist | Verdict:
    """The offer `press` may act on, loaded with its chat; or why it may not."""
    if press.playlist:
        offer: RequestRow | Playlist | None = await ports.playlists.get_with_chat(press.offer_id)
    else:
        offer = await ports.files.get_with_chat(press.offer_id)
    await ports.transaction.commit()  # the objects stay loaded
    # An offer sent as a message of its own has its message recorded just after it is
    # sent: a press that quick is on the only message the offer has.
    if (
        offer is None
        or offer.chat.telegram_id != press.chat_id
        or offer.status_message_id not in (None, press.message_id)
    ):
        return Verdict.NOT_AVAILABLE
    if offer.requested_by_id is not None and offer.requested_by_id != press.user_id:
        return Verdict.NOT_THE_SENDER
    return offer
