"""Outside data made safe for Telegram: cleaned, escaped, cut as Telegram counts."""

from __future__ import annotations

import html
import random

import pytest

from mediabot.telegram import texts
from mediabot.telegram.texts import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    cut,
    file_name,
    fill_html,
    plain,
    safe_html,
    utf16_length,
    visible_length,
)

HOSTILE = (
    "\u202eevil\x1b[31m red\x1b[0m \x1b]0;title\x07\x1b[2J\u2066x\u2069\u200e\u061c\x00\x9b1m."
)


def test_limits_are_telegrams() -> None:
    assert (MESSAGE_LIMIT, CAPTION_LIMIT, CALLBACK_DATA_LIMIT) == (4096, 1024, 64)


def test_plain_strips_controls_escape_sequences_and_bidi() -> None:
    assert plain(HOSTILE) == "evil red x."
    assert plain("line one\nline\ttwo") == "line one\nline\ttwo"
    assert plain(None) == ""


@pytest.mark.parametrize("char", [chr(c) for c in [*range(0, 9), *range(11, 32), *range(127, 160)]])
def test_plain_drops_every_control_character(char: str) -> None:
    assert plain(f"a{char}b") in ("ab", "a")  # a lone ESC may swallow the next character


@pytest.mark.parametrize(
    "char",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200e",
        "\u200f",
        "\u061c",
    ],
)
def test_plain_drops_every_bidi_control(char: str) -> None:
    assert plain(f"a{char}b") == "ab"


@pytest.mark.parametrize("char", ["\u200b", "\u2060", "\u2061", "\u2062", "\u2063", "\u2064"])
@pytest.mark.parametrize("between", ["ab", "жы", "😀😀"])
def test_plain_drops_every_zero_width_character(char: str, between: str) -> None:
    assert plain(f"{char}{between[0]}{char}{between[1]}{char}") == between
    assert plain(f"{between[0]}\ufeff{between[1]}\ufeff") == between


@pytest.mark.parametrize("joiner", ["\u200c", "\u200d"])
def test_a_joiner_that_joins_nothing_is_dropped(joiner: str) -> None:
    assert plain(f"{joiner}ad{joiner}min{joiner} {joiner}x") == "admin x"
    assert plain(f"\u200b{joiner}\ufeff") == ""
    assert plain(f"Ж{joiner}{joiner}{joiner}Ж") == "ЖЖ"


def test_a_joiner_that_joins_an_emoji_or_a_word_is_kept() -> None:
    family = "👨\u200d👩\u200d👧"
    persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # "I want", with its ZWNJ
    assert plain(f"{family} and {persian}") == f"{family} and {persian}"


def test_a_title_of_zero_width_characters_is_no_title() -> None:
    assert plain("\u200b\u200c\u200d\ufeff") == ""
    assert file_name("\u200b\u200c\u200d\ufeff", "mp4") == "file.mp4"
    assert file_name("Ca\u200bt\ufeff video\u200d", "mp4") == "Cat video.mp4"


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_length("a😀é") == 4


def test_cut_keeps_short_text_and_ends_long_text_with_an_ellipsis() -> None:
    assert cut("short", 10) == "short"
    assert cut("abcdefghij", 5) == "abcd…"
    assert utf16_length(cut("😀" * 10, 5)) <= 5
    assert cut("😀" * 10, 5) == "😀😀…"  # never half a surrogate pair


def test_safe_html_cuts_before_escaping_so_no_entity_is_split() -> None:
    text = "&" * 5000
    result = safe_html(text, 100)
    assert visible_length(result) == 100
    assert result.endswith("&amp;…")
    assert html.unescape(result) == "&" * 99 + "…"


def test_safe_html_escapes_markup() -> None:
    assert safe_html("<b>a</b> & b") == "&lt;b&gt;a&lt;/b&gt; &amp; b"


@pytest.mark.parametrize("seed", range(30))
def test_safe_html_always_fits_and_round_trips(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "a<>&\"'😀é\u202e\x1b[m\n "
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
    limit = rng.randint(1, 120)
    result = safe_html(text, limit)
    assert visible_length(result) <= limit
    assert html.unescape(result) == plain(text, limit)
    assert "\u202e" not in result and "\x1b" not in result


def test_fill_html_fits_a_huge_url_into_a_message() -> None:
    url = "https://example.com/" + "a" * 4063  # 4,083 characters
    message = fill_html("🔎 Looking up {url}…", url=url)
    assert visible_length(message) <= MESSAGE_LIMIT
    assert message.startswith("🔎 Looking up https://example.com/aaa")


def test_fill_html_cuts_the_longest_value_first() -> None:
    message = fill_html("<b>{title}</b>\n{url}", 50, title="Short <title>", url="u" * 500)
    assert message.startswith("<b>Short &lt;title&gt;</b>\n")
    assert visible_length(message) == 50


def test_fill_html_leaves_text_that_fits_alone() -> None:
    assert fill_html("<b>{t}</b>", t="a & b") == "<b>a &amp; b</b>"


def test_file_name_is_plain_and_filesystem_safe() -> None:
    name = file_name("\u202eevil\x1b[31m/red: a*b?\x1b[0m", "mp4")
    assert name == "evil_red_ a_b_.mp4"
    assert file_name("...", "mp4") == "file.mp4"
    assert file_name(None, "m4a") == "file.m4a"
    assert file_name("a\n\tb", ".mp4") == "a b.mp4"


def test_file_name_is_cut_to_whole_characters() -> None:
    name = file_name("é" * 500, "mp4")
    assert len(name.encode()) <= texts.FILE_NAME_BYTES + 4
    assert name.endswith("é.mp4")
