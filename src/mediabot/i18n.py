"""The bot's two languages: gettext catalogs under `mediabot/locales/`, through aiogram's I18n.

The convention, for every text a person sees:

- English is the source: the msgid *is* the English text, so English needs no catalog and a
  missing translation shows English, never a key.
- Texts are looked up when they are shown, in the current locale: call ``_("…")`` inside a
  function (``def no_link() -> str: return _("Send me a link…")``). A module-level constant must
  be lazy, ``NAME = __("…")``, and is turned into text with ``str(NAME)`` where it is used.
- Placeholders are ``{name}`` filled with ``.format()`` *after* translation; plurals use
  ``ngettext(singular, plural, n)``.
- The bot sets the locale per update (its i18n middleware); the worker wraps each job in
  ``use_locale(locale_for(...))``. Outside either, texts are English.

Catalogs: `locales/mediabot.pot` (extracted, see `scripts/update-catalogs`) and
`locales/<lang>/LC_MESSAGES/mediabot.po`. The wheel carries compiled `.mo` files (the build
hook in `setup.py`); a source checkout or editable install without them still works, because a
`.po` newer than its `.mo` (or alone) is compiled in memory when the package is imported.

A low layer: it imports nothing of the project, so the bot, the worker and the layers below them
may all use it.
"""

from __future__ import annotations

import gettext as _gettext
import io
import logging
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from aiogram.utils.i18n import I18n
from babel.support import LazyProxy

__all__ = [
    "DEFAULT_LOCALE",
    "DOMAIN",
    "LOCALES_DIR",
    "N_",
    "SUPPORTED_LOCALES",
    "I18n",
    "LazyProxy",
    "_",
    "__",
    "current_locale",
    "i18n",
    "locale_for",
    "ngettext",
    "speaking",
    "use_locale",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DOMAIN = "mediabot"
DEFAULT_LOCALE = "en"
SUPPORTED_LOCALES: tuple[str, ...] = ("en", "ru")
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


class _CatalogI18n(I18n):
    """aiogram's I18n that tolerates a missing folder and compiles a lone or newer `.po`."""

    def find_locales(self) -> dict[str, _gettext.GNUTranslations]:
        translations: dict[str, _gettext.GNUTranslations] = {}
        if not self.path.is_dir():
            return translations
        for folder in sorted(self.path.iterdir()):
            if not folder.is_dir():
                continue
            catalog = _load(folder / "LC_MESSAGES", self.domain)
            if catalog is not None:
                translations[folder.name] = catalog
        return translations


def _load(folder: Path, domain: str) -> _gettext.GNUTranslations | None:
    mo_path, po_path = folder / f"{domain}.mo", folder / f"{domain}.po"
    if po_path.is_file() and (
        not mo_path.is_file() or po_path.stat().st_mtime > mo_path.stat().st_mtime
    ):
        try:
            return _translations(_compile(po_path))
        except Exception:
            logger.exception("i18n: cannot compile %s; its language falls back to English", po_path)
            return None
    if mo_path.is_file():
        with mo_path.open("rb") as stream:
            return _gettext.GNUTranslations(stream)
    return None


def _translations(data: bytes) -> _gettext.GNUTranslations:
    return _gettext.GNUTranslations(io.BytesIO(data))


def _compile(po_path: Path) -> bytes:
    """The `.mo` bytes of a `.po` file (Babel; fuzzy entries left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as stream:
        catalog = read_po(stream)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


i18n = _CatalogI18n(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


def _(message: str) -> str:
    """`message` (an English msgid) in the current locale."""
    return i18n.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` for `n`, in the current locale (Russian has three)."""
    return i18n.gettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name for a marker
    """Marks `message` for the catalogs without translating it (a msgid kept as data)."""
    return message


def __(message: str) -> LazyProxy:  # noqa: N807 - gettext's conventional name
    """A lazy `_()`, for module-level constants: translated each time it is turned into text."""
    return i18n.lazy_gettext(message)


def current_locale() -> str:
    return i18n.current_locale


async def speaking(locale: str | None, work: Awaitable[T]) -> T:
    """Await `work` with its texts in `locale` (for a task: ``create_task(speaking(l, w))``)."""
    with use_locale(locale):
        return await work


@contextmanager
def use_locale(locale: str | None) -> Iterator[None]:
    """Texts inside the block speak `locale` (an unsupported or empty one means English)."""
    with i18n.use_locale(locale if locale in SUPPORTED_LOCALES else DEFAULT_LOCALE):
        yield


def locale_for(language_code: str | None, stored: str | None = None) -> str:
    """The locale to speak to a user: their `/language` choice first, then Telegram's language.

    Telegram's `language_code` is an IETF tag (``ru``, ``ru-RU``, ``en-GB``); its language
    part is matched against `SUPPORTED_LOCALES`. Only Russian itself maps to Russian: speakers
    of Ukrainian, Belarusian or Kazakh get English and may choose Russian with `/language`
    (guessing a language for them from politics is not the bot's business). Anything else is
    English.
    """
    for candidate in (stored, language_code):
        if not candidate:
            continue
        language = candidate.replace("_", "-").split("-", 1)[0].strip().lower()
        if language in SUPPORTED_LOCALES:
            return language
    return DEFAULT_LOCALE
