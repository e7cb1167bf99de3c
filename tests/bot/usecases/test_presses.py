"""Use case presses: a press acts on its offer only on the offer's message, by its sender."""

from __future__ import annotations

import uuid

from mediabot.bot.usecases.presses import Press, Verdict, pressed_offer
from tests.bot.usecases.bot_fakes import CHAT_ID, MESSAGE_ID, World


def _press(offer_id: uuid.UUID, user: uuid.UUID | None, **changes: object) -> Press:
    values: dict[str, object] = {
        "offer_id": offer_id,
        "playlist": False,
        "chat_id": CHAT_ID,
        "message_id": MESSAGE_ID,
        "user_id": user,
    }
    values.update(changes)
    return Press(**values)  # type: ignore[arg-type]


async def test_the_senders_press_on_the_offers_message_gets_the_offer() -> None:
    world = World()
    user = world.user()
    offer = world.offer(user)
    playlist = world.playlist(user)
    assert await pressed_offer(world.ports, _press(offer.id, user)) is offer
    assert await pressed_offer(world.ports, _press(playlist.id, user, playlist=True)) is playlist
    assert not world.open


async def test_a_press_elsewhere_or_on_nothing_is_not_available() -> None:
    world = World()
    user = world.user()
    offer = world.offer(user)
    for press in (
        _press(uuid.uuid4(), user),
        _press(offer.id, user, message_id=MESSAGE_ID + 1),
        _press(offer.id, user, chat_id=CHAT_ID + 1),
        _press(offer.id, user, playlist=True),  # a link's id pressed as a playlist's
    ):
        assert await pressed_offer(world.ports, press) is Verdict.NOT_AVAILABLE, press
    assert not world.open


async def test_only_the_sender_presses_and_an_ownerless_offer_takes_anyone() -> None:
    world = World()
    offer = world.offer(world.user())
    assert await pressed_offer(world.ports, _press(offer.id, world.user(2))) is (
        Verdict.NOT_THE_SENDER
    )
    assert await pressed_offer(world.ports, _press(offer.id, None)) is Verdict.NOT_THE_SENDER
    ownerless = world.offer(None)
    assert await pressed_offer(world.ports, _press(ownerless.id, world.user(2))) is ownerless
