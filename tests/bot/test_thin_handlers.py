"""The bot's handlers stay thin: no handler module commits a transaction or publishes a
job; the use cases under `bot.usecases` do (see `bot.usecases.ports`)."""

from __future__ import annotations

import ast
from pathlib import Path

import mediabot.bot.handlers

HANDLERS = Path(mediabot.bot.handlers.__file__).parent

EXEMPT = {"links", "inline"}
"""Handler modules still doing their own commits or publishing, until they call use cases."""

FORBIDDEN = {"commit", "publish"}


def _calls(path: Path) -> list[str]:
    """The forbidden calls in a module, as `name (line)`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in FORBIDDEN:
            found.append(f"{name} (line {node.lineno})")
    return found


def _modules() -> dict[str, Path]:
    return {path.stem: path for path in sorted(HANDLERS.glob("*.py")) if path.stem != "__init__"}


def test_no_handler_commits_or_publishes() -> None:
    offending = {
        name: calls
        for name, path in _modules().items()
        if name not in EXEMPT and (calls := _calls(path))
    }
    assert not offending, f"handlers call a use case instead: {offending}"


def test_every_exempt_module_still_needs_it() -> None:
    """An exempt module that complies leaves `EXEMPT`, so the rule covers it from then on."""
    modules = _modules()
    complying = {name for name in EXEMPT if name not in modules or not _calls(modules[name])}
    assert not complying, f"remove {sorted(complying)} from EXEMPT"


def test_the_check_finds_both_kinds_of_call(tmp_path: Path) -> None:
    module = tmp_path / "handler.py"
    module.write_text(
        "async def h(session, hold, queue, job):\n"
        "    await session.commit()\n"
        "    await hold.publish(queue, job)\n"
        "    '''commit( in a docstring is no call'''\n",
        encoding="utf-8",
    )
    assert _calls(module) == ["commit (line 2)", "publish (line 3)"]
