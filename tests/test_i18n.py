"""The two languages: the catalogs are complete and current, and the lookups behave."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from mediabot import i18n
from mediabot.i18n import _, locale_for, use_locale

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mediabot"
POT = i18n.LOCALES_DIR / "mediabot.pot"
KEYWORDS = {"_": None, "N_": None, "__": None, "gettext": None, "ngettext": (1, 2)}
"""As `scripts/update-catalogs` extracts (`-k __ -k N_` over Babel's defaults)."""

_PLACEHOLDER = re.compile(r"\{[a-z_]*\}|%[sd]|%\([a-z_]+\)[sd]")


def _ids(path: Path) -> set[str]:
    with path.open("rb") as stream:
        return {_key(message.id) for message in read_po(stream) if message.id}


def _key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def _extracted() -> set[str]:
    keywords = {name: spec or (1,) for name, spec in KEYWORDS.items()}
    return {
        _key(message)
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(PACKAGE), keywords=keywords, comment_tags=()
        )
    }


def test_the_template_is_up_to_date_with_the_source() -> None:
    """A new text in the code and not in `mediabot.pot`: run `scripts/update-catalogs`."""
    extracted, template = _extracted(), _ids(POT)
    assert extracted - template == set(), "run scripts/update-catalogs"
    assert template - extracted == set(), "run scripts/update-catalogs"


@pytest.mark.parametrize("language", [lang for lang in i18n.SUPPORTED_LOCALES if lang != "en"])
def test_every_text_is_translated_with_the_same_placeholders(language: str) -> None:
    po = i18n.LOCALES_DIR / language / "LC_MESSAGES" / "mediabot.po"
    with po.open("rb") as stream:
        catalog = read_po(stream)
    translated = {_key(message.id): message for message in catalog if message.id}
    untranslated = sorted(_ids(POT) - set(translated))
    assert untranslated == [], f"not in {po.name}; run scripts/update-catalogs and translate"
    for message_id, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and not message.fuzzy, f"no {language} translation: {message_id!r}"
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = sorted(set(_PLACEHOLDER.findall(ids[-1])))
        for string in strings:
            found = sorted(set(_PLACEHOLDER.findall(string)))
            assert found == wanted, f"placeholders differ in {message_id!r}: {string!r}"


def test_texts_follow_the_current_locale() -> None:
    assert _("Cancelled.") == "Cancelled."
    with use_locale("ru"):
        assert _("Cancelled.") == "Отменено."
        with use_locale("xx"):  # unsupported: English
            assert _("Cancelled.") == "Cancelled."
    assert _("A text nobody translated.") == "A text nobody translated."


@pytest.mark.parametrize(
    ("language_code", "stored", "locale"),
    [
        ("ru", None, "ru"),
        ("ru-RU", None, "ru"),
        ("en-GB", None, "en"),
        ("uk", None, "en"),
        ("de", None, "en"),
        (None, None, "en"),
        ("ru", "en", "en"),
        ("en", "ru", "ru"),
        ("ru", "xx", "ru"),
    ],
)
def test_the_locale_is_the_users_choice_then_telegrams(
    language_code: str | None, stored: str | None, locale: str
) -> None:
    assert locale_for(language_code, stored) == locale


def test_catalogs_load_without_compiled_files_and_without_a_folder(tmp_path: Path) -> None:
    """A source checkout has only `.po` files; a broken install may have no folder at all."""
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "mediabot.po").write_bytes(
        (i18n.LOCALES_DIR / "ru" / "LC_MESSAGES" / "mediabot.po").read_bytes()
    )
    loaded = i18n._CatalogI18n(path=tmp_path, domain="mediabot")
    assert loaded.gettext("Cancelled.", locale="ru") == "Отменено."
    missing = i18n._CatalogI18n(path=tmp_path / "nowhere", domain="mediabot")
    assert missing.gettext("Cancelled.", locale="ru") == "Cancelled."
