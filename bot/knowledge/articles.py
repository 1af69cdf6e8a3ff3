"""Knowledge articles: one Markdown file each, TOML front matter between `+++` lines.

Loading never raises: a file that cannot be used is reported as a Problem with
its path and line, and skipped, so one broken article never takes the bot down.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

FENCE = "+++"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
KNOWN_KEYS = {"id", "title", "questions", "tags", "handover", "original", "community"}
MAX_FILE_BYTES = 512 * 1024
DRAFTS = "drafts"  # agents' drafts in the knowledge folder: never loaded as articles
BASE_LANGUAGE = "en"  # the top level of the knowledge folder; translations are of these
LANGUAGE_KEY_HINT = (
    ": a translation's language is its folder's name (knowledge/de/pricing-plans.md)"
)
NO_QUESTIONS = "no questions: the article can only be found by its title"
MISSING_SHOWN = 10  # missing articles named in kb check's warning, per language
ORIGINAL_PATTERN = re.compile(r"^[0-9a-f]{12}$")
# ISO 639-1: a top-level folder with one of these names holds translations into that
# language (knowledge/de/pricing-plans.md); any other folder holds base-language articles
LANGUAGE_CODES = frozenset(
    """
    aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv
    cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho
    hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku
    kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn
    no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm
    sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi
    vo wa wo xh yi yo za zh zu
    """.split()  # noqa: SIM905
)

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
    language: str = BASE_LANGUAGE  # a translation's folder (knowledge/de/...), else "en"
    # a translation's `original`: body_hash() of the English body it was translated from
    original: str = ""
    # where customers work on this together (an http(s) URL; a translation without
    # its own has the English article's), offered once per case; "" for none
    community: str = ""


def body_hash(body: str) -> str:
    """The first 12 hex digits of the SHA-256 of an article's body as parse_article
    reads it (the text after the closing +++ line, stripped, UTF-8): what a
    translation's `original` names, so that `kb check` sees the English one change."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Problem:
    path: Path
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


def parse_article(
    path: Path, text: str, language: str = BASE_LANGUAGE
) -> tuple[Article | None, list[Problem]]:
    """One article from one file's text, or None and the reasons it is unusable;
    `language` is the folder's (a translation's), the base language's by default."""

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
        hint = LANGUAGE_KEY_HINT if key in ("lang", "language") else ""
        problems.append(problem(start + 1, f"unknown key {key!r} (ignored){hint}", "warning"))

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
    questions, tags = meta.get("questions", []), meta.get("tags", [])
    handover = meta.get("handover", False)
    wrong = _wrong_kind(questions, tags, handover)
    if wrong:
        problems.append(problem(start + 1, wrong))
        return None, problems
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        problems.append(problem(end + 2, "the answer (the text after the front matter) is empty"))
        return None, problems
    original = _original(meta.get("original"), language)
    community, wrong = community_place(meta.get("community", ""))
    problems += [problem(start + 1, original[1], "warning")] if original[1] else []
    problems += [problem(start + 1, f"community {wrong} (ignored)")] if wrong else []
    cleaned = [q.strip() for q in questions if q.strip()]
    if len(cleaned) < len(questions):
        problems.append(problem(start + 1, "empty questions were ignored", "warning"))
    if not cleaned:
        problems.append(problem(start + 1, NO_QUESTIONS, "warning"))
    article = Article(
        id=article_id,
        title=title.strip(),
        questions=tuple(dict.fromkeys(cleaned)),
        tags=tuple(t.strip() for t in tags if t.strip()),
        body=body,
        handover=handover,
        path=path,
        line=start + 1,
        language=language,
        original=original[0],
        community=community,
    )
    return article, problems


MAX_PLACE = 300  # characters of a community place's URL
_PLACE_SPOILERS = re.compile(r"[\s<>\"'`\\\x00-\x1f\x7f]")


def community_place(value: object) -> tuple[str, str]:
    """A community place (an http(s) URL with a host), and what is wrong with it ("" if
    nothing: an empty value is no place)."""
    if not isinstance(value, str):
        return "", f'{value!r} must be a URL in quotes, like "https://t.me/northwind"'
    url = value.strip()
    if not url:
        return "", ""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
    except ValueError:  # a malformed host ("http://[::1")
        scheme, host = "", None
    if scheme not in ("http", "https") or not host:
        return "", f"{url[:80]!r} must be an http(s) URL with a host, like https://t.me/northwind"
    if len(url) > MAX_PLACE or _PLACE_SPOILERS.search(url):
        return "", (
            f"{url[:80]!r}: at most {MAX_PLACE} characters, without spaces, quotes or"
            " angle brackets"
        )
    return url, ""


def _wrong_kind(questions: object, tags: object, handover: object) -> str:
    """What is not of its kind among the lists and the flag ("" if nothing)."""
    if not isinstance(questions, list) or not all(isinstance(q, str) for q in questions):
        return "questions must be a list of strings"
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "tags must be a list of strings"
    if not isinstance(handover, bool):
        return "handover must be true or false"
    return ""


def _original(value: object, language: str) -> tuple[str, str]:
    """A translation's `original` hash, and what is wrong with it ("" if nothing)."""
    if language == BASE_LANGUAGE:
        if value is None:
            return "", ""
        return "", "original is for translations only (ignored in a base-language article)"
    if value is None:
        return "", (
            "original is missing: kb check cannot tell whether the English article changed"
            " after this translation (add original = the 12 hex digits of its body's SHA-256)"
        )
    if not isinstance(value, str) or not ORIGINAL_PATTERN.match(value.strip().lower()):
        return "", f"original {value!r} must be 12 hex digits (the English body's SHA-256)"
    return value.strip().lower(), ""


# A folder holding one of these is a tool's (a virtual environment, installed
# packages), never articles: `kb check --knowledge .` must not read `.venv`.
_NOT_ARTICLES = ("pyvenv.cfg", "site-packages", "node_modules")


def _holds_articles(folder: Path) -> bool:
    if folder.name.startswith(".") or folder.name in _NOT_ARTICLES:
        return False
    return not any((folder / name).exists() for name in _NOT_ARTICLES)


def article_files(directory: Path) -> list[Path]:
    """The `*.md` files under `directory` but READMEs, skipping hidden folders,
    folders of tools (virtual environments, site-packages, node_modules) and the
    agents' drafts (`drafts/` at the top: never answered from, bot/knowledge/drafts.py)."""
    found: list[Path] = []
    for root, folders, files in os.walk(directory):
        here = Path(root)
        folders[:] = [
            name
            for name in folders
            if _holds_articles(here / name) and not (here == directory and name == DRAFTS)
        ]
        found.extend(
            here / name
            for name in files
            if name.endswith(".md") and name != "README.md" and (here / name).is_file()
        )
    return sorted(found)


def language_of(directory: Path, path: Path) -> str:
    """The language of an article file: its top-level folder's name when that is a
    language code other than the base language's, else the base language."""
    try:
        parts = path.relative_to(directory).parts
    except ValueError:
        return BASE_LANGUAGE
    if len(parts) > 1 and parts[0].lower() in LANGUAGE_CODES:
        return parts[0].lower()  # ("DE/" as "de/": a folder's case is easily changed)
    return BASE_LANGUAGE


def read_article(path: Path, language: str) -> tuple[Article | None, list[Problem]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None, [Problem(path, 1, f"larger than {MAX_FILE_BYTES // 1024} KiB")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [Problem(path, 1, f"not UTF-8 text: {error.reason}")]
    except OSError as error:
        return None, [Problem(path, 1, f"cannot be read: {error.strerror}")]
    return parse_article(path, text, language)


def load_articles(directory: Path) -> tuple[list[Article], list[Problem]]:
    """Every usable article under `directory`, the base language's first, then each
    language's translations (a language's folders sorted by name); problems for the
    rest, for duplicates, and for translations that do not match an English article."""
    if not directory.is_dir():
        return [], [Problem(directory, 0, "the knowledge folder does not exist")]
    articles: list[Article] = []
    problems: list[Problem] = []
    by_language: dict[str, list[Path]] = {}
    for path in article_files(directory):
        by_language.setdefault(language_of(directory, path), []).append(path)
    english: dict[str, Article] = {}
    for language in [BASE_LANGUAGE, *sorted(set(by_language) - {BASE_LANGUAGE})]:
        seen: dict[str, Article] = {}
        for path in by_language.get(language, []):
            article, found = read_article(path, language)
            problems.extend(found)
            if article is None:
                continue
            if article.id in seen:
                first = seen[article.id]
                what = (
                    "duplicate id"
                    if language == BASE_LANGUAGE
                    else f"a second {language} translation of"
                )
                problems.append(
                    Problem(
                        path,
                        article.line,
                        f"{what} {article.id!r} (first in {first.path}); this file is skipped",
                    )
                )
                continue
            if language != BASE_LANGUAGE:
                article, found = _translation(article, english.get(article.id))
                problems.extend(found)
                if article is None:
                    continue
            seen[article.id] = article
            articles.append(article)
        if language == BASE_LANGUAGE:
            english = seen
    return articles, problems


def _translation(article: Article, english: Article | None) -> tuple[Article | None, list[Problem]]:
    """A translation checked against its English article: it must have one; its
    `original` should be the English body's hash now; it hands over as the English
    one does (the English article's `handover` is the policy)."""
    path = article.path or Path(article.id)
    if english is None:
        return None, [
            Problem(
                path,
                article.line,
                f"id {article.id!r} has no English article (knowledge/{path.name} with this id):"
                f" the folder {article.language}/ is read as translations into"
                f" {article.language!r}, and a translation must have the id of the article it"
                " translates (English articles go in a folder whose name is not a language"
                " code); this file is skipped",
            )
        ]
    problems: list[Problem] = []
    now = body_hash(english.body)
    if article.original and article.original != now:
        problems.append(
            Problem(
                path,
                article.line,
                f"the English article changed after this translation (original"
                f" {article.original}, the English body is now {now}, {english.path}):"
                " update the translation, then its original",
                "warning",
            )
        )
    if article.handover != english.handover:
        problems.append(
            Problem(
                path,
                article.line,
                f"handover must be the English article's ({str(english.handover).lower()}):"
                " the English one's is used",
                "warning",
            )
        )
        article = replace(article, handover=english.handover)
    if not article.community and english.community:  # the English one's place, unless its own
        article = replace(article, community=english.community)
    return article, problems


def missing_translations(
    directory: Path, articles: Sequence[Article], languages: Iterable[str]
) -> list[Problem]:
    """A warning for each configured language (but the base one) that lacks some
    English articles: those are answered in English, with a line saying so."""
    english = [a.id for a in articles if a.language == BASE_LANGUAGE]
    problems: list[Problem] = []
    for language in dict.fromkeys(languages):
        if language == BASE_LANGUAGE:
            continue
        have = {a.id for a in articles if a.language == language}
        missing = [i for i in english if i not in have]
        if not missing:
            continue
        shown = ", ".join(missing[:MISSING_SHOWN]) + (" …" if len(missing) > MISSING_SHOWN else "")
        problems.append(
            Problem(
                directory / language,
                0,
                f"{len(missing)} of {len(english)} articles have no {language} translation"
                f" (answered in English): {shown}",
                "warning",
            )
        )
    return problems


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
