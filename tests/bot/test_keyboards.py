"""The choice keyboard and its callback data."""

from __future__ import annotations

import uuid

import pytest

from mediabot.bot.keyboards import Choice, ChoiceData, choices_keyboard, format_size
from mediabot.domain.enums import Provider
from mediabot.domain.media import MediaOptions, Resolution


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
