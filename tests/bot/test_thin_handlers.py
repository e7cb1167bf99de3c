"""The bot's handlers stay thin: no handler module commits a transaction, publishes a job
or imports the database or the queue; the use cases under `bot.usecases` do that, over
their ports (see `bot.usecases.ports`)."""

from __future__ import annotations

import ast
from pathlib import Path

import mediabot.bot.handlers

HANDLERS = Path(mediabot.bot.handlers.__file__).parent

EXEMPT = {"inline"}
"""Handler modules still committing, publishing or importing storage, until they call use
cases; each leaves the set once it complies (the last test says when)."""

FORBIDDEN = {"commit", "publish"}
STORAGE = ("sqlalchemy", "mediabot.db.repositories", "mediabot.queue")
"""What a handler reaches only through a use case's ports."""


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


def _storage_imports(path: Path) -> list[str]:
    imported = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.append(node.module)
    return [name for name in imported if name.startswith(STORAGE)]


def test_no_handler_reaches_the_database_or_the_queue_itself() -> None:
    offending = {
        name: imports
        for name, path in _modules().items()
        if name not in EXEMPT and (imports := _storage_imports(path))
    }
    assert not offending, f"handlers use the use cases' ports instead: {offending}"


def test_every_exempt_module_still_needs_it() -> None:
    """An exempt module that complies leaves `EXEMPT`, so the rule covers it from then on."""
    modules = _modules()
    complying = {
        name
        for name in EXEMPT
        if name not in modules or not (_calls(modules[name]) or _storage_imports(modules[name]))
    }
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
