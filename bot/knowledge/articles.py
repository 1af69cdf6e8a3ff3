"""Knowledge articles: one Markdown file each, TOML front matter between `+++` lines.

Loading never raises: a file that cannot be used is reported as a Problem with
its path and line, and skipped, so one broken article never takes the bot down.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FENCE = "+++"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
KNOWN_KEYS = {"id", "title", "questions", "tags", "handover"}
MAX_FILE_BYTES = 512 * 1024

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    title: str
    questions: tuple[str, ...]
    tags: tuple[str, ...]
    body: str
    handover: bool = False
    path: Path | None = None
    line: int = 1  # where the front matter starts, for messages
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


def parse_article(path: Path, text: str) -> tuple[Article | None, list[Problem]]:
    """One article from one file's text, or None and the reasons it is unusable."""

    def problem(line: int, message: str, severity: Severity = "error") -> Problem:
        return Problem(path, line, message, severity)

    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None:
        return None, [problem(1, "the file is empty")]
    if lines[start].strip() != FENCE:
        return None, [problem(start + 1, f"front matter missing: the file must start with {FENCE}")]
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == FENCE), None)
    if end is None:
        return None, [problem(start + 1, f"front matter is never closed with {FENCE}")]
    try:
        meta = tomllib.loads("\n".join(lines[start + 1 : end]))
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"line (\d+)", str(error))
        line = start + 1 + int(found.group(1)) if found else start + 1
        return None, [problem(line, f"front matter is not valid TOML: {error}")]

    problems: list[Problem] = []
    for key in sorted(set(meta) - KNOWN_KEYS):
        problems.append(problem(start + 1, f"unknown key {key!r} (ignored)", "warning"))

    article_id = meta.get("id", path.stem)
    if not isinstance(article_id, str) or not ID_PATTERN.match(article_id):
        problems.append(
            problem(
                start + 1,
                f"id {article_id!r} must be lower-case letters, digits, '.', '_' or '-'"
                " (at most 64 characters)",
            )
        )
        return None, problems
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(problem(start + 1, "title is missing or empty"))
        return None, problems
    questions = meta.get("questions", [])
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        problems.append(problem(start + 1, "questions must be a list of strings"))
        return None, problems
    tags = meta.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(problem(start + 1, "tags must be a list of strings"))
        return None, problems
    handover = meta.get("handover", False)
    if not isinstance(handover, bool):
        problems.append(problem(start + 1, "handover must be true or false"))
        return None, problems
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        problems.append(problem(end + 2, "the answer (the text after the front matter) is empty"))
        return None, problems
    cleaned = [q.strip() for q in questions if q.strip()]
    if len(cleaned) < len(questions):
        problems.append(problem(start + 1, "empty questions were ignored", "warning"))
    if not cleaned:
        problems.append(
            problem(
                start + 1, "no questions: the article can only be found by its title", "warning"
            )
        )
    article = Article(
        id=article_id,
        title=title.strip(),
        questions=tuple(dict.fromkeys(cleaned)),
        tags=tuple(t.strip() for t in tags if t.strip()),
        body=body,
        handover=handover,
        path=path,
        line=start + 1,
    )
    return article, problems


# A folder holding one of these is a tool's (a virtual environment, installed
# packages), never articles: `kb check --knowledge .` must not read `.venv`.
_NOT_ARTICLES = ("pyvenv.cfg", "site-packages", "node_modules")


def _holds_articles(folder: Path) -> bool:
    if folder.name.startswith(".") or folder.name in _NOT_ARTICLES:
        return False
    return not any((folder / name).exists() for name in _NOT_ARTICLES)


def article_files(directory: Path) -> list[Path]:
    """The `*.md` files under `directory` but READMEs, skipping hidden folders and
    folders of tools (virtual environments, site-packages, node_modules)."""
    found: list[Path] = []
    for root, folders, files in os.walk(directory):
        here = Path(root)
        folders[:] = [name for name in folders if _holds_articles(here / name)]
        found.extend(
            here / name
            for name in files
            if name.endswith(".md") and name != "README.md" and (here / name).is_file()
        )
    return sorted(found)


def load_articles(directory: Path) -> tuple[list[Article], list[Problem]]:
    """Every usable article under `directory`; problems for the rest and for duplicates."""
    if not directory.is_dir():
        return [], [Problem(directory, 0, "the knowledge folder does not exist")]
    articles: list[Article] = []
    problems: list[Problem] = []
    seen: dict[str, Article] = {}
    for path in article_files(directory):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                problems.append(Problem(path, 1, f"larger than {MAX_FILE_BYTES // 1024} KiB"))
                continue
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            problems.append(Problem(path, 1, f"not UTF-8 text: {error.reason}"))
            continue
        except OSError as error:
            problems.append(Problem(path, 1, f"cannot be read: {error.strerror}"))
            continue
        article, found = parse_article(path, text)
        problems.extend(found)
        if article is None:
            continue
        if article.id in seen:
            first = seen[article.id]
            problems.append(
                Problem(
                    path,
                    article.line,
                    f"duplicate id {article.id!r} (first in {first.path}); this file is skipped",
                )
            )
            continue
        seen[article.id] = article
        articles.append(article)
    return articles, problems


def snapshot(paths: Iterable[Path]) -> dict[Path, tuple[int, int]]:
    """What the files look like now, to notice a change without reading them."""
    state: dict[Path, tuple[int, int]] = {}
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        state[path] = (info.st_mtime_ns, info.st_size)
    return state
