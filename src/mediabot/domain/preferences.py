"""A user's /settings: what a link alone brings, and the form files come in.

Stored on the user (`users.default_choice`, `users.delivery_form`); the form is copied onto
each request when its choice is made (`files.form`), so a request keeps the form it was
asked in whatever the user changes later.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict


class DefaultChoice(StrEnum):
    """What a link alone brings: the offer's keyboard (`ASK`), the best video up to a
    height, or the audio only."""

    ASK = "ask"
    UP_TO_360 = "360"
    UP_TO_480 = "480"
    UP_TO_720 = "720"
    UP_TO_1080 = "1080"
    AUDIO = "audio"

    @property
    def max_height(self) -> int | None:
        """The highest video height this default takes; None for ask and audio."""
        return int(self.value) if self.value.isdigit() else None


class DeliveryForm(StrEnum):
    """How files come: as media that plays in the chat (Telegram may re-compress it), or
    as a document carrying the original streams byte for byte."""

    MEDIA = "media"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Preferences:
    """One user's settings; the defaults are what a user who never opened /settings gets."""

    default: DefaultChoice = DefaultChoice.ASK
    form: DeliveryForm = DeliveryForm.MEDIA


class PreferencesChange(TypedDict, total=False):
    """Settings to change; one not given, or None, stays as it is."""

    default: DefaultChoice | None
    form: DeliveryForm | None
