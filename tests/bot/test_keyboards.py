"""The keyboards and their callback data: every callback-data class parses only what the
bot itself packs, so a forged press matches no handler."""

from __future__ import annotations

import uuid

import pytest
from aiogram.filters.callback_data import CallbackData

from mediabot.bot.keyboards import (
    Choice,
    ChoiceData,
    HistoryData,
    PlaylistData,
    QueueCancelData,
    choices_keyboard,
    clip_rows,
    format_size,
)
from mediabot.domain.clips import Clip
from mediabot.domain.enums import Provider
from mediabot.domain.media import MediaOptions, Resolution
from tests.bot.forgeries import VALID, callback_data_classes, forgeries


def _options(**overrides: object) -> MediaOptions:
    values: dict[str, object] = {
        "url": "https://youtu.be/x",
        "provider": Provider.YOUTUBE,
        "media_key": "youtube:x",
        "title": "A video",
        "resolutions": (Resolution(360, 1_200_000), Resolution(720, 14_000_000)),
        "audio_estimated_bytes": 3_100_000,
    }
    values.update(overrides)
    return MediaOptions(**values)  # type: ignore[arg-type]


def test_buttons_carry_the_request_id_and_never_the_url() -> None:
    request_id = uuid.uuid4()
    keyboard = choices_keyboard(request_id, _options())
    buttons = [button for row in keyboard.inline_keyboard for button in row]
    assert [button.text for button in buttons] == [
        "360p · 1.2 MB",
        "720p · 14 MB",
        "🎵 Audio only · 3.1 MB",
        "✖ Cancel",
    ]
    for button in buttons:
        assert button.callback_data is not None and len(button.callback_data.encode()) <= 64
        assert "youtu" not in button.callback_data
        data = ChoiceData.unpack(button.callback_data)
        assert data.request_id == request_id
    assert ChoiceData.unpack(buttons[1].callback_data or "").height == 720
    assert ChoiceData.unpack(buttons[2].callback_data or "").choice is Choice.AUDIO


def test_a_photo_post_offers_one_download_button() -> None:
    keyboard = choices_keyboard(
        uuid.uuid4(), _options(resolutions=(), has_audio=False, photo_count=3)
    )
    texts = [button.text for row in keyboard.inline_keyboard for button in row]
    assert texts == ["📥 All 3 items", "✖ Cancel"]


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "size unknown"), (850_000, "850 KB"), (14_200_000, "14 MB"), (2_500_000_000, "2.5 GB")],
)
def test_sizes_read_like_people_write_them(size: int | None, text: str) -> None:
    assert format_size(size) == text


def test_a_forged_payload_does_not_unpack() -> None:
    with pytest.raises((ValueError, TypeError)):
        ChoiceData.unpack("c:not-a-uuid:q:0")


def test_every_callback_data_class_has_a_valid_press_to_forge() -> None:
    assert {type(data) for data in VALID} == callback_data_classes()


@pytest.mark.parametrize("data", VALID, ids=lambda data: data.pack())
def test_only_what_the_bot_packs_unpacks(data: CallbackData) -> None:
    """Whatever unpacks is exactly what the bot could have packed: no empty, padded,
    upper-case or dashed id, no signed or padded number, nothing a handler cannot use.
    (An empty field that has a default stands for it, as aiogram packs None.)"""
    cls = type(data)
    separator = cls.__separator__
    assert cls.unpack(data.pack()) == data
    for forged in forgeries(data):
        try:
            unpacked = cls.unpack(forged)
        except (TypeError, ValueError):
            continue
        said, meant = forged.split(separator), unpacked.pack().split(separator)
        for index, field in enumerate(cls.model_fields.values(), start=1):
            if said[index] == "" and not field.is_required():
                said[index] = meant[index]
        assert meant == said, f"{forged!r} unpacked as {unpacked!r}"


@pytest.mark.parametrize(
    "forged",
    ["h:s::0", "h:s::3", "h:p:0123456789abcdef0123456789abcdef:0", "q:", "c::v:720", "l::x:0"],
)
def test_a_press_without_its_id_or_with_one_it_must_not_have_is_refused(forged: str) -> None:
    cls = {"h": HistoryData, "q": QueueCancelData, "c": ChoiceData, "l": PlaylistData}[forged[0]]
    with pytest.raises((TypeError, ValueError)):
        cls.unpack(forged)


def test_a_clips_choices_carry_its_own_offer_and_its_share_of_the_size() -> None:
    clip_offer = uuid.uuid4()
    options = _options(duration_s=100.0, has_subtitles=True)
    rows = clip_rows(clip_offer, options, Clip(10, 30))
    buttons = [button for row in rows for button in row]
    assert [button.text for button in buttons] == [
        "✂ 360p · 240 KB",
        "✂ 720p · 2.8 MB",
        "✂ 🎵 · 620 KB",
        "✂ 💬",
    ]
    data = [ChoiceData.unpack(button.callback_data or "") for button in buttons]
    assert {item.request_id for item in data} == {clip_offer}
    assert data[-1].choice is Choice.SUBTITLES


def test_subtitles_are_offered_only_when_the_source_has_them() -> None:
    def texts(options: MediaOptions) -> list[str]:
        keyboard = choices_keyboard(uuid.uuid4(), options)
        return [button.text for row in keyboard.inline_keyboard for button in row]

    assert "💬 subtitles" in texts(_options(has_subtitles=True))
    assert not any("💬" in text for text in texts(_options()))
