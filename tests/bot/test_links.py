"""Finding links in messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiogram.types import Chat, Message, MessageEntity

from mediabot.bot.links import extract_links, first_link, links_in_text


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


def test_malformed_links_are_kept_for_their_refusal_not_raised() -> None:
    """`https://[::1/x` made yt-dlp's URL patterns (and urllib) raise ValueError, and the
    message got no answer at all; now it is a link the lookup refuses in words."""
    message = _message("see https://[::1/x and http://[x]y.com/a")
    assert extract_links(message, 5) == (["https://[::1/x", "http://[x]y.com/a"], False)


def test_plain_text_has_no_links_and_the_limit_cuts() -> None:
    assert extract_links(_message("just words, youtube.com is not a link"), 5) == ([], False)
    many = " ".join(f"https://example.com/{n}" for n in range(7))
    links, cut = extract_links(_message(many), 5)
    assert len(links) == 5 and cut


def _url_entities(text: str, *links: str) -> list[MessageEntity]:
    """`url` entities for `links` as Telegram marks them (offsets in UTF-16 units)."""
    entities = []
    for link in links:
        start = text.index(link)
        entities.append(
            MessageEntity(
                type="url",
                offset=len(text[:start].encode("utf-16-le")) // 2,
                length=len(link.encode("utf-16-le")) // 2,
            )
        )
    return entities


def test_links_without_a_scheme_are_read_from_url_entities() -> None:
    text = (
        "смотри 🎬 youtu.be/dQw4w9WgXcQ и instagram.com/reel/C8xYz12AbCd/ "
        "и ещё www.youtube.com/watch?v=jNQXAC9IVRw"
    )
    message = _message(
        text,
        _url_entities(
            text,
            "youtu.be/dQw4w9WgXcQ",
            "instagram.com/reel/C8xYz12AbCd/",
            "www.youtube.com/watch?v=jNQXAC9IVRw",
        ),
    )
    assert extract_links(message, 5) == (
        [
            "https://youtu.be/dQw4w9WgXcQ",
            "https://instagram.com/reel/C8xYz12AbCd/",
            "https://www.youtube.com/watch?v=jNQXAC9IVRw",
        ],
        False,
    )


def test_a_bare_site_name_in_a_sentence_is_not_a_request() -> None:
    text = "I watch it on youtube.com every day"
    assert extract_links(_message(text, _url_entities(text, "youtube.com")), 5) == ([], False)


def test_two_links_joined_by_a_comma_are_two_links() -> None:
    text = "https://youtu.be/dQw4w9WgXcQ,https://www.instagram.com/p/C8xYz12AbCd/"
    assert extract_links(_message(text), 5)[0] == [
        "https://youtu.be/dQw4w9WgXcQ",
        "https://www.instagram.com/p/C8xYz12AbCd/",
    ]
    scheme_less = "youtu.be/dQw4w9WgXcQ,youtu.be/jNQXAC9IVRw"
    entity = _url_entities(scheme_less, scheme_less)
    assert extract_links(_message(scheme_less, entity), 5)[0] == [
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/jNQXAC9IVRw",
    ]


def test_a_comma_inside_a_query_stays() -> None:
    text = "https://example.com/v.mp4?tags=a,b,c"
    assert extract_links(_message(text), 5)[0] == [text]


@pytest.mark.parametrize(
    "text",
    [
        "«https://youtu.be/dQw4w9WgXcQ»",
        "“https://youtu.be/dQw4w9WgXcQ”",
        "see https://youtu.be/dQw4w9WgXcQ…",
        "https://youtu.be/dQw4w9WgXcQ🔥🔥",
        "https://youtu.be/dQw4w9WgXcQ👍 nice",
        "(https://youtu.be/dQw4w9WgXcQ).",
    ],
)
def test_closing_quotes_ellipses_and_emoji_are_not_part_of_a_link(text: str) -> None:
    assert extract_links(_message(text), 5)[0] == ["https://youtu.be/dQw4w9WgXcQ"]


def test_one_spelling_counts_once_and_other_forms_are_left_to_the_lookup() -> None:
    """The bot reads links without the downloaders: `youtu.be/ID` and `watch?v=ID` are two
    links to it, folded into one offer once their lookups tell the same key."""
    text = (
        "https://youtu.be/dQw4w9WgXcQ youtu.be/dQw4w9WgXcQ "
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=5"
    )
    message = _message(text, _url_entities(text, "youtu.be/dQw4w9WgXcQ"))
    assert extract_links(message, 5) == (
        ["https://youtu.be/dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=5"],
        False,
    )


def test_capitalised_scheme_and_host_are_read_in_lower_case_path_and_query_kept() -> None:
    text = (
        "HTTPS://YOUTU.BE/dQw4w9WgXcQ Youtu.be/dQw4w9WgXcQ "
        "https://WWW.YOUTUBE.COM/watch?v=dQw4w9WgXcQ HTTPS://Example.COM/Some/Path?Q=Yes"
    )
    message = _message(text, _url_entities(text, "Youtu.be/dQw4w9WgXcQ"))
    assert extract_links(message, 5) == (
        [
            "https://youtu.be/dQw4w9WgXcQ",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://example.com/Some/Path?Q=Yes",
        ],
        False,
    )


@pytest.mark.parametrize(
    "query",
    ["HTTPS://YOUTU.BE/dQw4w9WgXcQ", "Youtu.be/dQw4w9WgXcQ", "  Https://youtu.BE/dQw4w9WgXcQ…"],
)
def test_an_inline_querys_capitalised_link_is_read_in_lower_case(query: str) -> None:
    assert first_link(query) == "https://youtu.be/dQw4w9WgXcQ"


def test_a_text_file_reads_hosts_without_a_scheme_and_nothing_else() -> None:
    """A binary file sent as a `.txt` read as Latin-1 once made `https://!"#$%…/0123…` a
    link, looked up and refused in words the user could not act on."""
    text = (
        "youtu.be/dQw4w9WgXcQ www.example.com:8080/v пример.рф/видео 10.0.0.1/admin\n"
        + bytes(range(256)).decode("latin-1")
        + " 1/2 a/b ../x .hidden/x\x00evil.com/x"
    )
    assert links_in_text(text, 10) == (
        [
            "https://youtu.be/dQw4w9WgXcQ",
            "https://www.example.com:8080/v",
            "https://пример.рф/видео",
            "https://10.0.0.1/admin",
        ],
        False,
    )
