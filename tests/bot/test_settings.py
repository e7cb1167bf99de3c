"""/settings through the dispatcher, and "⚙ Other choices" under a request a default chose."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from mediabot.bot import texts
from mediabot.bot.keyboards import OtherChoicesData, SettingsData
from mediabot.db.models import Chat, RequestRow, User
from mediabot.db.repositories import ProviderRepository
from mediabot.domain.enums import MediaKind, Provider, RequestState
from mediabot.domain.offer import Offer
from mediabot.domain.preferences import DefaultChoice, DeliveryForm, Preferences
from mediabot.i18n import use_locale
from tests.bot.conftest import BotBench

CHAT = 5151


def _answers(bench: BotBench) -> list[str]:
    return [call.params.get("text", "") for call in bench.telegram.calls_of("answerCallbackQuery")]


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        button["text"]: button["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for button in row
    }


async def _stored(bench: BotBench, telegram_id: int) -> tuple[DefaultChoice, DeliveryForm]:
    async with bench.sessions() as session:
        user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    assert user is not None
    return user.default_choice, user.delivery_form


async def test_settings_show_the_defaults_and_a_press_changes_one(bench: BotBench) -> None:
    await bench.say(CHAT, "/settings")
    shown = bench.telegram.sent_messages(CHAT)[-1]
    assert "Always ask" in shown["text"] and "As video" in shown["text"]
    buttons = _buttons(shown)
    assert [text for text in buttons if text.startswith("✓")] == ["✓ Always ask", "✓ ▶ As video"]

    await bench.press(CHAT, shown["message_id"], buttons["≤720p"])
    assert _answers(bench)[-1] == texts.settings_saved()
    assert await _stored(bench, CHAT) == (DefaultChoice.UP_TO_720, DeliveryForm.MEDIA)
    edited = bench.telegram.sent_messages(CHAT)[-1]
    assert "Best up to 720p" in edited["text"]
    assert "✓ ≤720p" in _buttons(edited) and "Always ask" in _buttons(edited)

    await bench.press(CHAT, shown["message_id"], _buttons(edited)["📄 As a file"])
    assert await _stored(bench, CHAT) == (DefaultChoice.UP_TO_720, DeliveryForm.DOCUMENT)
    assert "✓ 📄 As a file" in _buttons(bench.telegram.sent_messages(CHAT)[-1])


async def test_settings_speak_russian_to_a_russian_speaking_user(bench: BotBench) -> None:
    bench.telegram.speaks(CHAT, "ru")
    await bench.say(CHAT, "/settings")
    shown = bench.telegram.sent_messages(CHAT)[-1]
    with use_locale("ru"):
        expected = texts.settings(Preferences())
    assert shown["text"].startswith("⚙ Настройки")
    assert shown["text"] == _as_sent(expected)
    assert "✓ Всегда спрашивать" in _buttons(shown)
    await bench.press(CHAT, shown["message_id"], _buttons(shown)["🎵 Только звук"])
    assert _answers(bench)[-1] == "Сохранено."
    assert await _stored(bench, CHAT) == (DefaultChoice.AUDIO, DeliveryForm.MEDIA)


def _as_sent(html: str) -> str:
    """The text Telegram shows for `html` (the tags become entities)."""
    for tag in ("<b>", "</b>"):
        html = html.replace(tag, "")
    return html


async def test_a_press_on_someone_elses_settings_changes_nothing(bench: BotBench) -> None:
    group = -100_777
    await bench.say(CHAT, "/settings")  # the other user exists, with their defaults
    update = bench.telegram.inject_message(group, "/settings", user_id=777, chat_type="group")
    await bench.dispatcher.feed_raw_update(bench.bot, update)
    shown = bench.telegram.sent_messages(group)[-1]
    data = _buttons(shown)["🎵 Audio only"]
    assert SettingsData.unpack(data).user_id == 777
    pressed = bench.telegram.inject_callback(group, shown["message_id"], data, user_id=CHAT)
    await bench.dispatcher.feed_raw_update(bench.bot, pressed)
    assert _answers(bench)[-1] == texts.not_your_settings()
    assert await _stored(bench, CHAT) == (DefaultChoice.ASK, DeliveryForm.MEDIA)
    assert await _stored(bench, 777) == (DefaultChoice.ASK, DeliveryForm.MEDIA)


async def _delivered_by_default(bench: BotBench, message_id: int) -> uuid.UUID:
    """A request of the user `CHAT` delivered at 720p by their default, its status (with
    "⚙ Other choices") on `message_id`."""
    async with bench.sessions() as session:
        chat = await session.scalar(select(Chat).where(Chat.telegram_id == CHAT))
        assert chat is not None
        file = RequestRow(
            chat_id=chat.id,
            requested_by_id=chat.user_id,
            provider_id=await ProviderRepository(session).id_of(Provider.GENERIC),
            request_url="https://videos.example/v/9",
            media_key="generic:v9",
            kind=MediaKind.VIDEO,
            resolution=720,
            state=RequestState.DELIVERED,
            title="Nine",
            offer=Offer(heights=(360, 720), sizes={360: 1_000_000, 720: 3_000_000}, audio=True),
            status_message_id=message_id,
        )
        session.add(file)
        await session.commit()
        return file.id


async def test_other_choices_brings_the_offer_back_for_another_choice(bench: BotBench) -> None:
    await bench.say(CHAT, "/settings")
    status = bench.telegram.sent_messages(CHAT)[-1]["message_id"]
    request_id = await _delivered_by_default(bench, status)
    data = OtherChoicesData(request_id=request_id).pack()

    await bench.press(CHAT, status, data)
    shown = bench.telegram.sent_messages(CHAT)[-1]
    assert shown["message_id"] == status and "Nine" in shown["text"]
    buttons = _buttons(shown)
    assert {"360p · 1.0 MB", "720p · 3.0 MB", "✖ Cancel"} <= set(buttons)
    await bench.press(CHAT, status, data)  # twice: still the one offer
    assert _buttons(bench.telegram.sent_messages(CHAT)[-1]) == buttons

    await bench.press(CHAT, status, buttons["360p · 1.0 MB"])
    assert bench.queue.pending == 1
    async with bench.sessions() as session:
        rows = (
            await session.scalars(select(RequestRow).where(RequestRow.media_key == "generic:v9"))
        ).all()
    states = sorted((row.state, row.resolution) for row in rows)
    assert states == [(RequestState.DELIVERED, 720), (RequestState.QUEUED, 360)]


async def test_other_choices_is_refused_to_others_and_on_other_messages(
    bench: BotBench,
) -> None:
    await bench.say(CHAT, "/settings")
    status = bench.telegram.sent_messages(CHAT)[-1]["message_id"]
    data = OtherChoicesData(request_id=await _delivered_by_default(bench, status)).pack()
    await bench.press(CHAT, status + 1, data)
    assert _answers(bench)[-1] == texts.not_available()
    await bench.press(CHAT, status, OtherChoicesData(request_id=uuid.uuid4()).pack())
    assert _answers(bench)[-1] == texts.not_available()
    assert "Nine" not in bench.telegram.sent_messages(CHAT)[-1]["text"]


async def test_in_a_group_the_senders_own_default_applies(bench: BotBench) -> None:
    group = -100_515
    await bench.say(CHAT, "/settings")
    shown = bench.telegram.sent_messages(CHAT)[-1]
    await bench.press(CHAT, shown["message_id"], _buttons(shown)["≤720p"])

    for user_id in (CHAT, 777):  # 777 never chose a default: asked
        update = bench.telegram.inject_message(
            group, "https://videos.example/v/group", user_id=user_id, chat_type="supergroup"
        )
        await bench.dispatcher.feed_raw_update(bench.bot, update)
        await bench.lane.settled()
        await bench.forget_lookups()
    queued, asked = bench.telegram.sent_messages(group)[-2:]
    assert queued["text"] == texts.queued(0)
    assert list(_buttons(queued)) == ["✖ Cancel"]
    assert {"360p · 1.0 MB", "720p · 3.0 MB"} <= set(_buttons(asked))
    assert bench.queue.pending == 1
    async with bench.sessions() as session:
        rows = (
            await session.scalars(select(RequestRow).where(RequestRow.state == RequestState.QUEUED))
        ).all()
    assert [(row.kind, row.resolution, row.chosen_by_default) for row in rows] == [
        (MediaKind.VIDEO, 720, True)
    ]
