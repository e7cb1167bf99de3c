"""The build hook of the package: the gettext catalogs are compiled into the wheel.

Everything else is in pyproject.toml. `build_py` compiles each
`src/mediabot/locales/<lang>/LC_MESSAGES/mediabot.po` with Babel (a build requirement) into the
`.mo` next to it in the build; a fuzzy entry is left out, as msgfmt does. Editable installs
need no `.mo`: `mediabot.i18n` compiles a `.po` in memory when its `.mo` is missing or older.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in Path("src/mediabot/locales").glob("*/LC_MESSAGES/*.po"):
            relative = po_path.relative_to("src").with_suffix(".mo")
            mo_path = Path(self.build_lib) / relative
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as source:
                catalog = read_po(source)
            with mo_path.open("wb") as target:
                write_mo(target, catalog, use_fuzzy=False)


setup(cmdclass={"build_py": BuildPyWithCatalogs})
