"""What a link offered, as recorded with the request and checked on every button press."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer

from mediabot.domain.clips import ClipOffer
from mediabot.domain.enums import MediaKind
from mediabot.domain.media import MediaOptions
from mediabot.domain.preferences import DeliveryForm


class Offer(BaseModel):
    """The choices a link offered, with their estimated sizes.

    Stored as JSON (`model_dump(mode="json")`): `sizes` keys become strings there, exactly
    the shape rows written before this model existed have, so old rows load unchanged.
    A missing field means "not offered".
    """

    model_config = ConfigDict(frozen=True)

    heights: tuple[int, ...] = ()
    """Video heights, lowest first."""
    sizes: dict[int, int | None] = {}
    """Estimated bytes of each height's download (None: unknown)."""
    audio: bool = False
    """Whether "audio only" was offered."""
    audio_size: int | None = None
    """Estimated bytes of the audio download."""
    photos: int = 0
    """Photos of a photo post or carousel (0: none)."""
    found: dict[str, Any] | None = None
    """What the lookup found (addresses, formats), so a press soon after it downloads
    without looking the link up again (`downloaders.found`)."""
    subtitles: bool = False
    """Whether "subtitles" was offered (the source has some)."""

    @classmethod
    def of(cls, options: MediaOptions) -> Offer:
        """The offer a link's options make."""
        return cls(
            heights=options.heights,
            sizes={
                resolution.height: resolution.estimated_bytes for resolution in options.resolutions
            },
            audio=options.has_audio,
            audio_size=options.audio_estimated_bytes,
            photos=options.photo_count,
            found=dict(options.found) if options.found else None,
            subtitles=options.has_subtitles,
        )

    @model_serializer(mode="wrap")
    def _without_empty_found(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Stored without `found` when there is none: the shape rows had before it."""
        data: dict[str, Any] = handler(self)
        if data.get("found") is None:
            data.pop("found", None)
        return data

    def offers(self, kind: MediaKind, height: int | None = None) -> bool:
        """Whether this choice was among the offered ones."""
        if kind is MediaKind.VIDEO:
            return height in self.heights
        if kind is MediaKind.AUDIO:
            return self.audio
        return self.photos > 0

    def estimated_bytes(self, kind: MediaKind, height: int | None = None) -> int | None:
        """The estimated size of a choice's download; None when unknown."""
        if kind is MediaKind.VIDEO:
            return self.sizes.get(height) if height is not None else None
        if kind is MediaKind.AUDIO:
            return self.audio_size
        return None


@dataclass(frozen=True, slots=True)
class Pick:
    """A choice on an offer: a kind, and the height of a video."""

    kind: MediaKind
    height: int = 0

    @property
    def resolution(self) -> int | None:
        return self.height if self.kind is MediaKind.VIDEO else None

    def variant(self, form: DeliveryForm = DeliveryForm.MEDIA) -> Variant:
        """What this choice delivers when it comes in `form`."""
        return Variant(self.kind, self.resolution, form)


@dataclass(frozen=True, slots=True)
class Variant:
    """What one delivery of a media is: its kind, the video height (None for audio and
    photos) and the form it comes in. Two deliveries of one media in one variant are the
    same Telegram file; a different form is a different file."""

    kind: MediaKind
    resolution: int | None = None
    form: DeliveryForm = DeliveryForm.MEDIA


@dataclass(frozen=True, slots=True)
class ShownOffer:
    """What a link's offer message shows: the choices of `options` on the offer
    `offer_id`; `beside`, the playlist its link names (its offer id, its size); `clip`,
    the clip asked of it, in rows of choices of its own; without `whole` (a video over
    the duration limit), the clip's choices alone."""

    offer_id: uuid.UUID
    options: MediaOptions
    beside: tuple[uuid.UUID, int] | None = None
    clip: ClipOffer | None = None
    whole: bool = True
