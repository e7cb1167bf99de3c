"""The offer a link makes: built from its options, checked on a press, stored as JSON."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.dialects import sqlite

from mediabot.db.models import RequestRow
from mediabot.domain.enums import MediaKind, Provider
from mediabot.domain.media import MediaOptions, Resolution
from mediabot.domain.offer import Offer
from mediabot.domain.playlist import PlaylistEntry, PlaylistOptions

OLD_ROW = {
    "heights": [360, 720],
    "sizes": {"360": 1_000_000, "720": None},
    "audio": True,
    "audio_size": 300_000,
    "photos": 0,
}
"""An offer exactly as the version before the model wrote it."""
NEW_ROW = OLD_ROW | {"subtitles": False}
"""The same offer as written now: the old shape and whether subtitles were offered."""


def _options() -> MediaOptions:
    return MediaOptions(
        url="https://youtu.be/x",
        provider=Provider.YOUTUBE,
        media_key="youtube:x",
        title="T",
        resolutions=(Resolution(360, 1_000_000), Resolution(720)),
        audio_estimated_bytes=300_000,
    )


def test_an_offer_is_made_from_the_options_and_stored_in_the_old_shape() -> None:
    offer = Offer.of(_options())
    assert offer == Offer(
        heights=(360, 720), sizes={360: 1_000_000, 720: None}, audio=True, audio_size=300_000
    )
    assert offer.model_dump(mode="json") == NEW_ROW


def test_an_old_row_loads() -> None:
    offer = Offer.model_validate(OLD_ROW)
    assert offer.heights == (360, 720) and offer.sizes == {360: 1_000_000, 720: None}
    assert offer.estimated_bytes(MediaKind.VIDEO, 360) == 1_000_000
    assert offer.estimated_bytes(MediaKind.AUDIO) == 300_000
    # A partial dict: what is missing was not offered.
    assert Offer.model_validate({"heights": [360]}) == Offer(heights=(360,))


def test_a_press_is_checked_against_the_offer() -> None:
    offer = Offer.model_validate(OLD_ROW)
    assert offer.offers(MediaKind.VIDEO, 720) and not offer.offers(MediaKind.VIDEO, 1080)
    assert offer.offers(MediaKind.AUDIO, 0) and not offer.offers(MediaKind.PHOTO)
    assert Offer(photos=3).offers(MediaKind.PHOTO) and not Offer().offers(MediaKind.AUDIO)


def test_an_offer_is_frozen_and_typed() -> None:
    offer = Offer()
    with pytest.raises(ValidationError):
        offer.photos = 2  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Offer.model_validate({"heights": ["tall"]})


def test_the_column_stores_json_and_loads_an_offer() -> None:
    column = RequestRow.__table__.c.offer.type
    dialect = sqlite.dialect()
    offer = Offer.of(_options())
    assert column.process_bind_param(offer, dialect) == NEW_ROW
    assert column.process_bind_param(OLD_ROW, dialect) == NEW_ROW  # a dict is accepted too
    assert column.process_result_value(OLD_ROW, dialect) == offer
    assert column.process_result_value(None, dialect) is None


@pytest.mark.parametrize(
    ("total", "entries", "skipped", "capped"),
    [
        (4, 3, 1, False),  # one repeat left out of a feed of four: no limit hit
        (5, 3, 1, True),  # and one more item past the limit
        (None, 3, 1, False),  # the source does not say how many it has
        (3, 3, 0, False),
        (120, 50, 2, True),
    ],
)
def test_a_playlist_is_capped_only_when_the_limit_left_items_out(
    total: int | None, entries: int, skipped: int, capped: bool
) -> None:
    options = PlaylistOptions(
        url="https://example.com/feed.xml",
        title="Feed",
        entries=tuple(
            PlaylistEntry(
                url=f"https://example.com/{index}.mp4",
                provider=Provider.GENERIC,
                media_key=f"generic:{index}",
            )
            for index in range(entries)
        ),
        total_count=total,
        skipped=skipped,
    )
    assert options.capped is capped
