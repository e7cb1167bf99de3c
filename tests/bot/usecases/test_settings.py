"""Use cases of /settings: the settings read and changed, the form a press records, and
"⚙ Other choices" making an offer again."""

from __future__ import annotations

from mediabot.bot.usecases.choose import Queued, Refused, choose, offer_again
from mediabot.bot.usecases.limits import Limits
from mediabot.bot.usecases.playlists import choose as choose_playlist
from mediabot.bot.usecases.settings import change_settings, read_settings
from mediabot.domain.enums import MediaKind, RequestState
from mediabot.domain.offer import Offer, Pick
from mediabot.domain.preferences import DefaultChoice, DeliveryForm, Preferences
from tests.bot.usecases.bot_fakes import World

LIMITS = Limits(max_active=2, per_hour=5)


async def test_settings_are_read_and_changed_one_at_a_time_and_committed() -> None:
    world = World()
    user = world.user()
    assert await read_settings(world.ports, user) == Preferences()
    assert not world.open
    changed = await change_settings(world.ports, user, default=DefaultChoice.UP_TO_480)
    assert changed == Preferences(DefaultChoice.UP_TO_480, DeliveryForm.MEDIA)
    changed = await change_settings(world.ports, user, form=DeliveryForm.DOCUMENT)
    assert changed == Preferences(DefaultChoice.UP_TO_480, DeliveryForm.DOCUMENT)
    assert not world.open


async def test_a_press_records_the_form_of_the_pressers_settings() -> None:
    world = World()
    user = world.user()
    world.preferences[user] = Preferences(form=DeliveryForm.DOCUMENT)
    offer = world.offer(user)
    await choose(world.ports, offer, Pick(MediaKind.VIDEO, 720), user, LIMITS, world.reply)
    assert (offer.state, offer.form) == (RequestState.QUEUED, DeliveryForm.DOCUMENT)


async def test_photos_come_as_photos_whatever_the_form() -> None:
    world = World()
    user = world.user()
    world.preferences[user] = Preferences(form=DeliveryForm.DOCUMENT)
    offer = world.offer(user, offer=Offer(photos=3))
    await choose(world.ports, offer, Pick(MediaKind.PHOTO), user, LIMITS, world.reply)
    assert offer.form is DeliveryForm.MEDIA


async def test_a_delivery_in_the_other_form_is_not_the_cache() -> None:
    world = World()
    user = world.user()
    world.preferences[user] = Preferences(form=DeliveryForm.DOCUMENT)
    offer = world.offer(user)
    world.delivered(world.user(2), media_key=offer.media_key, kind=MediaKind.AUDIO)
    await choose(world.ports, offer, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    assert world.replies == [Queued(offer.id, position=0, cached=False)]
    assert world.published == [(offer.id, False)]

    again = world.offer(user, media_key=offer.media_key)
    world.delivered(
        world.user(3), media_key=offer.media_key, kind=MediaKind.AUDIO, form=DeliveryForm.DOCUMENT
    )
    await choose(world.ports, again, Pick(MediaKind.AUDIO), user, LIMITS, world.reply)
    assert isinstance(world.replies[-1], Queued) and world.replies[-1].cached


async def test_other_choices_offers_again_once_per_message_after_the_request_ended() -> None:
    world = World()
    user = world.user()
    request = world.delivered(user, kind=MediaKind.VIDEO, resolution=720)
    made = await offer_again(world.ports, request, shown_on=91)
    assert not isinstance(made, Refused)
    assert (made.state, made.offer, made.media_key) == (
        RequestState.OFFERED,
        request.offer,
        request.media_key,
    )
    assert (made.requested_by_id, made.status_message_id) == (user, 91)
    assert not world.open
    assert await offer_again(world.ports, request, shown_on=91) is made


async def test_other_choices_waits_for_a_request_still_on_its_way() -> None:
    world = World()
    user = world.user()
    running = world.request(user, RequestState.DOWNLOADING)
    assert await offer_again(world.ports, running, shown_on=91) is Refused.ALREADY_CHOSEN
    without_offer = world.delivered(user, offer=None)
    assert await offer_again(world.ports, without_offer, shown_on=92) is Refused.NOT_AVAILABLE


async def test_a_playlists_items_come_in_the_owners_form_cached_in_that_form_first() -> None:
    world = World()
    user = world.user()
    world.preferences[user] = Preferences(form=DeliveryForm.DOCUMENT)
    playlist = world.playlist(user)
    world.delivered(world.user(2), media_key="generic:item2", kind=MediaKind.VIDEO, resolution=720)
    world.delivered(
        world.user(3),
        media_key="generic:item3",
        kind=MediaKind.VIDEO,
        resolution=720,
        form=DeliveryForm.DOCUMENT,
    )
    await choose_playlist(
        world.ports, playlist, Pick(MediaKind.VIDEO, 720), user, LIMITS, world.reply
    )
    items = world.items_of(playlist.id)
    assert [item.media_key for item in items] == ["generic:item3", "generic:item1", "generic:item2"]
    assert {item.form for item in items} == {DeliveryForm.DOCUMENT}


async def test_of_presses_stored_out_of_order_the_last_pressed_stays() -> None:
    """Presses handled side by side: the one of the later update stays whichever is
    stored last, each setting on its own; the earlier press reads what stays."""
    world = World()
    user = world.user()
    later = await change_settings(world.ports, user, update_id=12, default=DefaultChoice.AUDIO)
    earlier = await change_settings(
        world.ports, user, update_id=11, default=DefaultChoice.UP_TO_720
    )
    assert later == earlier == Preferences(DefaultChoice.AUDIO, DeliveryForm.MEDIA)
    # An earlier press of the other setting is not held back by this one's update.
    other = await change_settings(world.ports, user, update_id=10, form=DeliveryForm.DOCUMENT)
    assert other == Preferences(DefaultChoice.AUDIO, DeliveryForm.DOCUMENT)
    assert not world.open
