"""The default choice of /settings applied to an offer (`default_pick`)."""

from __future__ import annotations

import pytest

from mediabot.domain.defaults import default_pick
from mediabot.domain.enums import MediaKind
from mediabot.domain.offer import Offer, Pick
from mediabot.domain.preferences import DefaultChoice, DeliveryForm, Preferences

FULL = Offer(heights=(144, 360, 720, 1080, 2160), audio=True)


def _pick(default: DefaultChoice, offer: Offer) -> Pick | None:
    return default_pick(Preferences(default=default), offer)


@pytest.mark.parametrize(
    ("default", "height"),
    [
        (DefaultChoice.UP_TO_360, 360),
        (DefaultChoice.UP_TO_480, 360),
        (DefaultChoice.UP_TO_720, 720),
        (DefaultChoice.UP_TO_1080, 1080),
    ],
)
def test_a_height_default_picks_the_highest_offered_height_up_to_it(
    default: DefaultChoice, height: int
) -> None:
    assert _pick(default, FULL) == Pick(MediaKind.VIDEO, height)


def test_a_height_default_asks_when_every_height_is_above_it() -> None:
    assert _pick(DefaultChoice.UP_TO_480, Offer(heights=(720, 1080), audio=True)) is None


def test_a_height_default_asks_on_an_offer_without_video() -> None:
    assert _pick(DefaultChoice.UP_TO_720, Offer(audio=True)) is None
    assert _pick(DefaultChoice.UP_TO_720, Offer(photos=3)) is None


def test_audio_only_picks_the_audio_when_it_is_offered_else_asks() -> None:
    assert _pick(DefaultChoice.AUDIO, FULL) == Pick(MediaKind.AUDIO)
    assert _pick(DefaultChoice.AUDIO, Offer(heights=(720,), audio=False)) is None


def test_always_ask_picks_nothing() -> None:
    assert _pick(DefaultChoice.ASK, FULL) is None
    assert default_pick(Preferences(), FULL) is None


def test_the_pick_is_always_one_the_offer_makes() -> None:
    offers = [FULL, Offer(heights=(240, 480)), Offer(audio=True), Offer(photos=1), Offer()]
    for offer in offers:
        for default in DefaultChoice:
            for form in DeliveryForm:
                pick = default_pick(Preferences(default, form), offer)
                assert pick is None or offer.offers(pick.kind, pick.resolution)
