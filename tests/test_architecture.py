"""The rule that holds the house together: the core never imports a platform."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PLATFORMS = ("telegram", "slack_bolt", "slack_sdk", "aiohttp")


def imported_modules(path):  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_bot_never_imports_a_platform_library() -> None:
    files = sorted((ROOT / "bot").rglob("*.py"))
    assert len(files) > 5
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        for module in imported_modules(path)
        if module.split(".")[0] in PLATFORMS
        # the command line is where channels are wired in; nothing else in bot/ knows them
        or (module.split(".")[0] == "adapters" and path.name != "cli.py")
    ]
    assert offenders == []


def test_the_core_names_no_platform() -> None:
    """Platforms' names (config sections, channels) come from their declarations: no
    string in bot/ spells one, but the command line's help for the terminal commands."""
    import re

    from bot.platforms import discover

    names = [platform.name for platform in discover()]
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        if path.name == "cli.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        offenders += [
            f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and any(re.search(rf"\b{name}\b", node.value) for name in names)
        ]
    assert len(names) >= 3
    assert offenders == []


def test_nothing_outside_the_store_speaks_sql() -> None:
    """Reports, tools and features read and write through the store's protocols: only
    bot/store/ connects to a database."""
    files = sorted((ROOT / "bot").rglob("*.py"))
    store = ROOT / "bot" / "store"
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        if store not in path.parents
        for module in imported_modules(path)
        if module.split(".")[0] in ("sqlite3", "aiosqlite", "asyncpg", "psycopg")
    ]
    assert offenders == []


def test_the_core_stays_in_pieces_a_reader_can_hold() -> None:
    """The size guide of the redesign: no module in bot/ over 600 lines, no class over
    300, no function over 80. A feature that outgrows it wants a module of its own."""
    too_big = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        if len(source.splitlines()) > 600:
            too_big.append(f"{where}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            limit = (
                300
                if isinstance(node, ast.ClassDef)
                else 80
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                else 0
            )
            if limit and node.end_lineno and node.end_lineno - node.lineno + 1 > limit:
                too_big.append(f"{where}:{node.lineno} {node.name}")
    assert too_big == []
