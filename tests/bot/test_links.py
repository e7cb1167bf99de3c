"""Finding links in messages."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import Chat, Message, MessageEntity

from mediabot.bot.links import extract_links


def _message(text: str, entities: list[MessageEntity] | None = None) -> Message:
    return Message(
        message_id=1,
        date=datetime.now(UTC),
        chat=Chat(id=1, type="private"),
        text=text,
        entities=entities,
    )


def test_links_in_order_without_duplicates_or_trailing_punctuation() -> None:
    message = _message(
        "look: https://youtu.be/dQw4w9WgXcQ, and (https://www.instagram.com/reel/C1/)! "
        "again https://youtu.be/dQw4w9WgXcQ"
    )
    assert extract_links(message, 5) == (
        ["https://youtu.be/dQw4w9WgXcQ", "https://www.instagram.com/reel/C1/"],
        False,
    )


def test_text_links_and_odd_schemes_are_found() -> None:
    entity = MessageEntity(type="text_link", offset=0, length=4, url="https://vimeo.com/1")
    message = _message("this and file:///etc/passwd", [entity])
    assert extract_links(message, 5) == (["https://vimeo.com/1", "file:///etc/passwd"], False)


def test_plain_text_has_no_links_and_the_limit_cuts() -> None:
    assert extract_links(_message("just words, youtube.com is not a link"), 5) == ([], False)
    many = " ".join(f"https://example.com/{n}" for n in range(7))
    links, cut = extract_links(_message(many), 5)
    assert len(links) == 5 and cut
