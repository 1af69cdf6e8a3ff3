"""Articles written from agents' replies: drafts, and new examples for live articles.

`/article` on a desk writes a draft, `knowledge/drafts/<id>.md`, in the normal
format (bot/knowledge/articles.py) with the customer's question as its first
example and the agent's reply as its answer. The loader never reads the drafts
folder (`articles.article_files`), so a draft answers nobody until a person moves
it into the knowledge folder. Files are written whole or not at all: a temporary
file in the same folder, then linked to its name (which fails rather than replace
a file that is there) or, for `/teach`, renamed over the article it extends.

`/teach` adds a question to an existing article's `questions`, changing nothing
else in the file: the new string goes in before the array's closing bracket, and
the result is parsed again and must hold the same article with one more question,
else the file is left as it was.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.knowledge.analysis import content_words, fold, sorted_phrase
from bot.knowledge.articles import (
    BASE_LANGUAGE,
    DRAFTS,
    FENCE,
    ID_PATTERN,
    MAX_FILE_BYTES,
    Article,
    Problem,
    parse_article,
    read_article,
)
from bot.model import Event, EventKind
from bot.text import MAX_MATCHED, unbidi

if TYPE_CHECKING:
    from bot.knowledge.base import KnowledgeBase

CHOSEN_KEPT = 200_000  # messages whose article the drafts' counts remember
TITLE_CHARS = 80  # a draft's title: the question's first sentence, at most this long
SLUG_CHARS = 48  # a draft's id, from its title
# anything but tab and newline below U+0020, DEL, C1, lone surrogates, non-characters
_UNWRITABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SENTENCE = re.compile(r"(?<=[.!?])\s")
# what in a customer's words names them or theirs: an address, a URL, a long number
# (phone, IBAN, card, account): a draft's question and title get a placeholder instead
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://\S+", re.I)
_LONG_NUMBER = re.compile(r"(?:[A-Z]{2}\d{2}[ ]?)?\d(?:[ ./-]?\d){5,}")


class DraftError(Exception):
    """What stopped a draft or an example from being written, said for the agent."""


@dataclass(frozen=True, slots=True)
class Written:
    path: Path
    article_id: str
    question: str  # as written: on one line, personal data replaced


def drafts_folder(knowledge: Path) -> Path:
    return knowledge / DRAFTS


def impersonal(text: str) -> str:
    """A customer's words with their e-mail addresses, links and long numbers
    replaced (the rest is for the agent to check before the draft is moved in)."""
    text = _EMAIL.sub("[e-mail]", text)
    text = _URL.sub("[link]", text)
    return _LONG_NUMBER.sub("[number]", text)


def looks_personal(text: str) -> bool:
    """Whether `text` holds an e-mail address or a long number (phone, IBAN, card)."""
    return bool(_EMAIL.search(text) or _LONG_NUMBER.search(text))


def one_line(text: str) -> str:
    """A customer's question as an example: printable, on one line, spaces single."""
    return " ".join(_UNWRITABLE.sub(" ", text).split())


def toml_string(text: str) -> str:
    """`text` as a TOML basic string (quotes, backslashes, controls escaped)."""
    out = ['"']
    for ch in _UNWRITABLE.sub("", text.replace("\r\n", "\n")):
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def title_of(question: str) -> str:
    """A draft's title: the question's first sentence, cut at a word, without
    bidirectional controls (a title is a menu's button: one would reverse it, unseen
    by whoever checks the draft)."""
    first = _SENTENCE.split(" ".join(unbidi(one_line(question)).split()), maxsplit=1)[0].strip()
    if len(first) > TITLE_CHARS:
        first = first[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"
    return first[:1].upper() + first[1:] if first else "Draft"


def slug(title: str) -> str:
    """An id from a title: folded letters and digits, '-' between words."""
    folded = unicodedata.normalize("NFKD", fold(title))
    words = re.findall(r"[a-z0-9]+", folded)
    text = ""
    for word in words:
        if len(text) + len(word) + 1 > SLUG_CHARS:
            break
        text = f"{text}-{word}" if text else word
    return text or "draft"


def free_id(base: str, taken: Iterable[str], folder: Path) -> str:
    """`base`, or `base-2`, `base-3`, …: no live article's id, no name in `folder`
    (a link to nowhere too) nor in the knowledge folder above it (moved in as it is,
    the draft must not replace a live file whose id is another)."""
    used = set(taken)
    for n in range(1, 1000):
        candidate = base if n == 1 else f"{base}-{n}"
        names = (folder / f"{candidate}.md", folder.parent / f"{candidate}.md")
        if candidate not in used and not any(os.path.lexists(p) for p in names):
            return candidate
    raise DraftError(f"too many drafts named {base}: move or delete some in {folder}")


def draft_text(article_id: str, title: str, question: str, body: str, note: str) -> str:
    """A draft article's file: front matter (id, title, the question, no tags yet)
    and the body."""
    return (
        f"{FENCE}\n"
        f"# {one_line(note)}\n"
        f"id = {toml_string(article_id)}\n"
        f"title = {toml_string(title)}\n"
        f"questions = [\n    {toml_string(question)},\n]\n"
        "tags = []\n"
        f"{FENCE}\n"
        f"{_UNWRITABLE.sub('', body.replace(chr(13), '')).strip()}\n"
    )


def writable(folder: Path) -> str:
    """Why files cannot be written in `folder` ("" when they can), the folder made
    if it is missing and its parent allows."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} is not a folder"
    try:
        folder.mkdir(parents=False, exist_ok=True)
    except OSError as error:
        return f"{folder} cannot be made: {error.strerror}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{folder} is not writable by the bot"
    return ""


def _temporary(folder: Path, data: bytes) -> Path:
    handle, name = tempfile.mkstemp(prefix=".candor-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def write_draft(
    knowledge: Path, question: str, body: str, taken: Iterable[str], note: str
) -> Written:
    """Write a draft from a customer's question and an agent's reply; `taken`: the
    live articles' ids (a draft's id must not be one, to be moved in as it is)."""
    question = impersonal(one_line(question))[:MAX_MATCHED]
    if not question or not body.strip():
        raise DraftError("the draft needs a customer's question and an agent's reply")
    folder = drafts_folder(knowledge)
    if not knowledge.is_dir():
        raise DraftError(f"the knowledge folder {knowledge} does not exist")
    problem = writable(folder)
    if problem:
        raise DraftError(f"no draft was written: {problem}")
    title = title_of(question)
    article_id = free_id(slug(title), taken, folder)
    text = draft_text(article_id, title, question, body, note)
    data = text.encode("utf-8")
    if len(data) > MAX_FILE_BYTES:
        raise DraftError(
            f"the reply is too long for an article (over {MAX_FILE_BYTES // 1024} KiB):"
            " no draft was written"
        )
    path = folder / f"{article_id}.md"
    article, problems = parse_article(path, text)
    if article is None or any(p.severity == "error" for p in problems):
        raise DraftError("the draft would not be a valid article: " + str(problems[:1]))
    try:
        temporary = _temporary(folder, data)
        try:  # readable as the folder is, written by the bot alone (a temporary file: 0600)
            os.chmod(temporary, folder.stat().st_mode & 0o644)
            os.link(temporary, path)  # fails if the name was taken meanwhile
        finally:
            temporary.unlink(missing_ok=True)
    except FileExistsError:
        raise DraftError(f"{path.name} appeared meanwhile: try again") from None
    except OSError as error:
        raise DraftError(f"no draft was written in {folder}: {error.strerror}") from None
    return Written(path, article_id, question)


# -- /teach: one more question in an article's front matter ------------------------------

_QUESTIONS = re.compile(r"^[ \t]*questions[ \t]*=[ \t]*\[", re.M)


def _array_end(text: str, start: int) -> tuple[int, int]:
    """The position of the `]` closing the array opened before `start`, and of the
    last character before it that is neither space nor comment (its `[` or `,` or an
    element's end). TOML strings and comments are skipped."""
    i, last, depth = start, start - 1, 1
    while i < len(text):
        ch = text[i]
        if ch == "#":
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        if ch in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else ch
            j = i + len(quote)
            while j < len(text) and not text.startswith(quote, j):
                j += 2 if quote[0] == '"' and text[j] == "\\" else 1
            i = j + len(quote)
            last = i - 1
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i, last
        if not ch.isspace():
            last = i
        i += 1
    raise DraftError("its questions list is not closed")


def with_question(text: str, question: str) -> str:
    """The file's text with `question` added last to its `questions` (or a
    `questions` key added after the opening fence), all else unchanged."""
    lines = text.split("\n")
    start = next((n for n, line in enumerate(lines) if line.strip()), 0)
    fence = sum(len(line) + 1 for line in lines[: start + 1])  # after the opening +++
    close = text.find("\n" + FENCE, fence - 1)
    front_end = len(text) if close < 0 else close
    found = _QUESTIONS.search(text, fence, front_end)
    item = toml_string(question)
    if found is None:
        return text[:fence] + f"questions = [{item}]\n" + text[fence:]
    end, last = _array_end(text, found.end())
    newline = "\r\n" if "\r\n" in text[:fence] else "\n"
    comma = "" if text[last] in "[," else ","
    line_start = text.rfind("\n", 0, end) + 1
    if text[line_start:end].strip() == "" and line_start > found.end():
        # a list over lines, `]` on its own: a new line before it, indented as the one before
        previous = text[text.rfind("\n", 0, line_start - 1) + 1 : line_start]
        indent = previous[: len(previous) - len(previous.lstrip())] or "    "
        return (
            text[: last + 1] + comma + text[last + 1 : line_start]
            + f"{indent}{item},{newline}" + text[line_start:]
        )  # fmt: skip
    space = "" if text[last] == "[" else " "
    return text[: last + 1] + comma + space + item + text[last + 1 :]


def add_question(article: Article, question: str, others: Iterable[Article]) -> Written:
    """Add `question` to the article's file as it is on disk now, personal data
    replaced as in a draft's; `others`: the articles of its language (a question that
    is another's example too is refused: the matcher could not tell them apart)."""
    question = impersonal(one_line(question))[:MAX_MATCHED]
    if article.path is None or not any(ch.isalpha() for ch in question):
        raise DraftError("the question has no words to add")
    path = article.path.resolve()  # a linked article: its file changes, the link stays
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DraftError(f"{path} cannot be read: {error}") from None
    now, _ = parse_article(path, text, article.language)
    if now is None or now.id != article.id:
        raise DraftError(f"{path.name} is not a valid article now: see `candor kb check`")
    phrase = sorted_phrase(content_words(question))
    for other in (now, *(o for o in others if o.id != article.id)):
        if any(sorted_phrase(content_words(q)) == phrase for q in other.questions):
            raise DraftError(f"“{question}” is already an example of {other.id}")
    changed = with_question(text, question)
    again, _ = parse_article(path, changed, article.language)
    if (
        again is None
        or again.questions != (*now.questions, question)
        or (
            again.title,
            again.body,
        )
        != (now.title, now.body)
    ):
        raise DraftError(f"{path.name} could not be changed safely: edit it by hand")
    problem = writable(path.parent)
    if problem:
        raise DraftError(f"the example was not added: {problem}")
    try:
        temporary = _temporary(path.parent, changed.encode("utf-8"))
        try:
            os.chmod(temporary, path.stat().st_mode & 0o777)
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as error:
        raise DraftError(f"the example was not added to {path}: {error.strerror}") from None
    return Written(path, article.id, question)


def valid_id(text: str) -> bool:
    return bool(ID_PATTERN.match(text))


def load_drafts(knowledge: Path) -> tuple[list[Article], list[Problem]]:
    """The drafts in `knowledge/drafts` and their problems (none when there is no
    such folder): read as articles, apart from the live ones."""
    folder = drafts_folder(knowledge)
    if not folder.is_dir():
        return [], []
    drafts: list[Article] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for path in sorted(folder.glob("*.md")):
        if not path.is_file() or path.name == "README.md":
            continue
        article, found = read_article(path, BASE_LANGUAGE)
        problems.extend(found)
        if article is None:
            continue
        if article.id in seen:
            problems.append(Problem(path, article.line, f"duplicate draft id {article.id!r}"))
            continue
        seen.add(article.id)
        drafts.append(article)
    return drafts, problems


# -- how often a draft's question was asked -----------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftCount:
    """A draft, and of the customers' messages in the store: how many the knowledge
    base with this draft moved in would answer with it (`asked`), and how many of
    those the bot answered "I don't know" to (`unanswered`)."""

    draft: Article
    asked: int
    unanswered: int


def asked_questions(events: Iterable[Event]) -> Counter[tuple[str, bool]]:
    """Each message a customer wrote (not a button, not a command), case and spacing
    folded, and whether the bot's next answer on its case was "I don't know"."""
    counted: Counter[tuple[str, bool]] = Counter()
    last: dict[int, str] = {}
    for event in events:
        if event.kind is EventKind.CUSTOMER:
            if (
                event.text.strip()
                and not event.data.get("button")
                and not event.data.get("command")
            ):
                if event.case_id in last:
                    counted[(last[event.case_id], False)] += 1
                last[event.case_id] = " ".join(event.text.casefold().split())
        elif event.kind in (EventKind.ANSWER, EventKind.CLARIFY, EventKind.UNKNOWN):
            text = last.pop(event.case_id, None)
            if text is not None:
                counted[(text, event.kind is EventKind.UNKNOWN)] += 1
    for text in last.values():
        counted[(text, False)] += 1
    return counted


@lru_cache(maxsize=2)
def _knowledge(articles: tuple[Article, ...]) -> tuple[KnowledgeBase, dict[str, str | None]]:
    """The knowledge base of these articles, kept while they stay the same: building
    it trains the second opinion (seconds); and the article it answers each message
    with, so a page asked again matches only the messages that are new (the base's
    own recent decisions are too few for a period's messages: 20,000 took 20 s on
    every load of the drafts page)."""
    from bot.knowledge.base import KnowledgeBase  # (base.py reads articles.py, as we do)

    return KnowledgeBase.of(list(articles)), {}


def draft_counts(
    live: Sequence[Article], drafts: Sequence[Article], events: Iterable[Event]
) -> list[DraftCount]:
    """Each draft with how often it would have answered (see `DraftCount`): the
    decision of the live base-language articles plus all the drafts (a draft's id
    kept apart from a live one's), on each message once; most asked first."""
    if not drafts:  # nothing to count: no knowledge base built, no message matched
        return []
    english = [a for a in live if a.language == BASE_LANGUAGE]
    named = {f"{DRAFTS}/{d.id}": d for d in drafts}
    kb, memo = _knowledge((*english, *(replace(d, id=k) for k, d in named.items())))
    asked: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    for (text, unknown), n in asked_questions(events).items():
        if text not in memo:
            if len(memo) >= CHOSEN_KEPT:
                memo.clear()
            decision = kb.decide(text)
            memo[text] = decision.candidates[0].article.id if decision.kind == "answer" else None
        chosen = memo[text]
        if chosen in named:
            assert chosen is not None
            asked[chosen] += n
            unanswered[chosen] += n if unknown else 0
    rows = [DraftCount(d, asked[k], unanswered[k]) for k, d in named.items()]
    return sorted(rows, key=lambda r: (-r.asked, -r.unanswered, r.draft.id))
