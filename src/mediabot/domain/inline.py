"""Inline mode's small contracts: the ids of the results offered, the deep link's payload."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from mediabot.domain.enums import MediaKind

INLINE_START_PREFIX = "inline_"
"""`/start inline_<request hex>`: send an inline request's parts in the private chat."""

_RESULT_ID = re.compile(r"^(?P<kind>[va]):(?P<height>\d{1,5}):(?P<offer>[0-9a-f]{32})$")
_KINDS = {"v": MediaKind.VIDEO, "a": MediaKind.AUDIO}


@dataclass(frozen=True, slots=True)
class InlineChoice:
    """A result offered for a link not yet delivered: a kind and height of an offer.

    Its id (`v:720:<offer hex>`, `a:0:<offer hex>`, 40 bytes at most) comes back in the
    chosen result; anything else there is refused (`parse` gives None).
    """

    offer_id: uuid.UUID
    kind: MediaKind
    height: int | None = None

    @property
    def result_id(self) -> str:
        letter = "v" if self.kind is MediaKind.VIDEO else "a"
        return f"{letter}:{self.height or 0}:{self.offer_id.hex}"

    @classmethod
    def parse(cls, result_id: str) -> InlineChoice | None:
        match = _RESULT_ID.match(result_id)
        if match is None:
            return None
        kind = _KINDS[match["kind"]]
        height = int(match["height"]) if kind is MediaKind.VIDEO else None
        return cls(uuid.UUID(hex=match["offer"]), kind, height)


def start_payload(request_id: uuid.UUID) -> str:
    """The deep link's payload that sends an inline request's parts in the private chat."""
    return f"{INLINE_START_PREFIX}{request_id.hex}"


def request_of_payload(payload: str | None) -> uuid.UUID | None:
    """The request a `/start` payload names (None: not an inline request's)."""
    if payload is None or not re.fullmatch(rf"{INLINE_START_PREFIX}[0-9a-f]{{32}}", payload):
        return None
    return uuid.UUID(hex=payload.removeprefix(INLINE_START_PREFIX))
