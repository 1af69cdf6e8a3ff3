"""`candor kb check | ask | eval`: the tools for writing and measuring articles.

Each returns the process exit code and prints to stdout (progress to stderr)."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.knowledge.analysis import content_words, sorted_phrase
from bot.knowledge.articles import (
    BASE_LANGUAGE,
    Article,
    Problem,
    load_articles,
    missing_translations,
)
from bot.knowledge.base import Candidate, Decision, KnowledgeBase, Thresholds
from bot.knowledge.drafts import draft_counts, drafts_folder, load_drafts, looks_personal
from bot.knowledge.parts import points_by_kind
from bot.knowledge.translated import code
from bot.model import Event
from bot.text import plural

CONFUSION_MARGIN = 0.02  # an own question scoring this close to another article is confusing

Expected = str | tuple[str, ...] | None
"""What should answer a question: one article's id; several acceptable ones, the
best first (a row with "also"); or None when no article should."""


def kb_check(
    directory: Path, out: TextIO | None = None, languages: Sequence[str] = (BASE_LANGUAGE,)
) -> int:
    """Validate every article, and that each of `languages` (the configured ones)
    has every article; exit code 1 when there is an error."""
    out = out or sys.stdout
    articles, problems = load_articles(directory)
    owner: dict[tuple[str, str], tuple[str, Path | None, int]] = {}
    for article in articles:
        for question in article.questions:
            key = (article.language, sorted_phrase(content_words(question)))
            first = owner.get(key)
            if first is not None and first[0] != article.id:
                problems.append(
                    Problem(
                        article.path or directory,
                        article.line,
                        f"the question “{question}” is also in {first[0]!r} ({first[1]}):"
                        " the matcher cannot tell them apart",
                    )
                )
            else:
                owner.setdefault(key, (article.id, article.path, article.line))
    if articles:
        problems.extend(_confusions(KnowledgeBase.of(articles, Thresholds()), articles, directory))
    problems.extend(missing_translations(directory, articles, languages))
    for problem in problems:
        print(problem, file=out)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    counts = Counter(a.language for a in articles)
    split = ""
    if set(counts) - {BASE_LANGUAGE}:
        split = " (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"
    print(
        f"{len(articles)} articles{split} checked in {directory}: {plural(errors, 'error')},"
        f" {plural(warnings, 'warning')}",
        file=out,
    )
    draft_errors = _check_drafts(directory, articles, out)
    return 1 if errors or draft_errors else 0


def _check_drafts(directory: Path, articles: list[Article], out: TextIO) -> int:
    """The drafts' section of `kb check` (none without a drafts folder): each draft
    validated as an article, and its id not a live one's (it could not be moved in
    as it is). Returns the drafts' errors: they never change the live articles."""
    folder = drafts_folder(directory)
    if not folder.is_dir():
        return 0
    drafts, problems = load_drafts(directory)
    live = {a.id: a for a in articles if a.language == BASE_LANGUAGE}
    kb = KnowledgeBase.of(list(live.values()), Thresholds()) if live else None
    for draft in drafts:
        decision = kb.decide(draft.questions[0]) if kb and draft.questions else None
        if decision is not None and decision.kind == "answer":
            answered = decision.candidates[0].article
            problems.append(
                Problem(
                    draft.path or folder,
                    draft.line,
                    f"its question “{draft.questions[0]}” is answered already, by"
                    f" {answered.id!r} ({answered.path}): teach that article instead?",
                    "warning",
                )
            )
        if looks_personal(draft.body):  # an agent's reply to one customer, to be everyone's
            problems.append(
                Problem(
                    draft.path or folder,
                    draft.line,
                    "its answer looks personal (an e-mail address, a long number): make sure"
                    " it is nobody's before moving it into the knowledge folder",
                    "warning",
                )
            )
        if draft.id in live:
            problems.append(
                Problem(
                    draft.path or folder,
                    draft.line,
                    f"id {draft.id!r} is a live article's ({live[draft.id].path}): rename the"
                    " draft before moving it into the knowledge folder",
                )
            )
    print("Drafts (never answered from until moved into the knowledge folder):", file=out)
    for problem in problems:
        print(f"  {problem}", file=out)
    errors = sum(1 for p in problems if p.severity == "error")
    counted = plural(len(drafts), "draft")
    warned = plural(len(problems) - errors, "warning")
    print(
        f"{counted} checked in {folder}: {plural(errors, 'error')}, {warned}",
        file=out,
    )
    return errors


def kb_drafts(
    directory: Path, events: Sequence[Event] | None, as_json: bool, out: TextIO | None = None
) -> int:
    """`candor kb drafts`: each draft, with how many of the customers' messages in
    `events` it would answer once moved in, and how many of those were "I don't know"
    (bot/knowledge/drafts.py `DraftCount`); no counts when `events` is None."""
    out = out or sys.stdout
    articles, _ = load_articles(directory)
    drafts, problems = load_drafts(directory)
    rows = draft_counts(articles, drafts, events or ())
    counted = events is not None
    if as_json:
        payload = [
            {
                "id": r.draft.id,
                "title": r.draft.title,
                "question": r.draft.questions[0] if r.draft.questions else None,
                "path": str(r.draft.path),
                "asked": r.asked if counted else None,
                "unanswered": r.unanswered if counted else None,
            }
            for r in rows
        ]
        print(json.dumps({"drafts": payload, "problems": [str(p) for p in problems]},
                         ensure_ascii=False, indent=2), file=out)  # fmt: skip
        return 0
    folder = drafts_folder(directory)
    if not rows:
        print(f"No drafts in {folder}: /article on the desk writes one.", file=out)
    for r in rows:
        question = r.draft.questions[0] if r.draft.questions else r.draft.title
        times = (
            f"asked {plural(r.asked, 'time')} ({r.unanswered} unanswered)"
            if counted
            else "not counted"
        )
        print(f"{r.draft.id}: {times}  “{question}”  {r.draft.path}", file=out)
    for problem in problems:
        print(problem, file=out)
    if rows:
        many = f"{len(rows)} draft" + ("" if len(rows) == 1 else "s")
        print(
            f"{many} in {folder}; asked: customers' messages a draft would answer"
            " once moved into the knowledge folder (unanswered: of those, the bot said it did"
            " not know). Move one in to use it; `candor kb check` validates them.",
            file=out,
        )
    return 0


def _confusions(kb: KnowledgeBase, articles: list[Article], directory: Path) -> list[Problem]:
    """An own question as close to another article as to its own, in its language."""
    problems = []
    for article in articles:
        for question in article.questions:
            ranked = kb.rank(question, 2, article.language)
            own = next((c.score for c in ranked if c.article.id == article.id), 0.0)
            rival = next((c for c in ranked if c.article.id != article.id), None)
            if rival is not None and rival.score >= own - CONFUSION_MARGIN:
                problems.append(
                    Problem(
                        article.path or directory,
                        article.line,
                        f"the question “{question}” is as close to “{rival.article.title}”"
                        f" ({rival.article.id}) as to this article: reword one of them",
                        "warning",
                    )
                )
    return problems


def kb_ask(
    kb: KnowledgeBase,
    question: str,
    as_json: bool,
    out: TextIO | None = None,
    language: str = BASE_LANGUAGE,
) -> int:
    """What the bot would do with one question asked in `language`, and why."""
    out = out or sys.stdout
    decision = kb.decide(question, language)
    ranked = kb.rank(question, 5, language)
    offered = {c.article.id for c in decision.candidates} if decision.kind != "unknown" else set()
    if as_json:
        payload = {
            "query": question,
            "language": language,
            "decision": decision.kind,
            "articles": [c.article.id for c in decision.candidates]
            if decision.kind != "unknown"
            else [],
            "asked": decision.asked or None,  # the part answered, when it asked two things
            "also": [c.article.id for c in decision.also],
            "also_asked": decision.also_asked or None,
            "second_opinion": decision.second_opinion,  # answered as the classifier agreed
            "candidates": [
                {
                    "article": c.article.id,
                    "title": c.article.title,
                    "language": c.article.language,
                    "score": round(c.score, 4),
                    "offered": c.article.id in offered,
                    "why": c.why,
                    "parts": _parts_json(c),
                    "learned": None if c.learned is None else round(c.learned, 4),
                }
                for c in ranked
            ],
            "learned": _opinion_json(kb, question, language),
            "thresholds": _thresholds(kb.thresholds_for(language)),
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2), file=out)
        return 0
    t = kb.thresholds_for(language)
    if decision.kind == "answer":
        headline = f"answer with “{decision.candidates[0].article.title}”"
        if decision.asked:
            headline += f" for the part “{decision.asked}”"
        if decision.second_opinion:
            headline += " (its lead is short: the classifier puts it first too)"
        if decision.also:
            titles = ", ".join(f"“{c.article.title}”" for c in decision.also)
            headline += f", and offer {titles} for “{decision.also_asked}”"
    elif decision.kind == "clarify":
        titles = ", ".join(f"“{c.article.title}”" for c in decision.candidates)
        headline = f"ask which was meant: {titles}"
    else:
        headline = "say it does not know, and offer a person"
    print(f"decision: {headline}", file=out)
    print(
        f"(answer at {t.answer_score:.2f} with a lead of {t.answer_margin:.2f};"
        f" clarify from {t.clarify_score:.2f}; else unknown)",
        file=out,
    )
    if not ranked:
        print("no article shares anything with the question", file=out)
    elif not any(p.kind == "semantic" for c in ranked for p in c.parts):
        print("(scores are lexical only: this matcher has no semantic part)", file=out)
    print(_opinion_line(kb, question, language), file=out)
    for n, c in enumerate(ranked, 1):
        mark = "*" if c.article.id in offered else " "
        other = f"  ({c.article.language})" if c.article.language != language else ""
        print(f"{mark}{n}. {c.score:.3f}  {c.article.id}  “{c.article.title}”{other}", file=out)
        learned = "" if c.learned is None else f"; classifier {c.learned:.2f}"
        print(f"      {_parts_line(c)}{learned}", file=out)
        if c.why:
            print(f"      {c.why}", file=out)
    return 0


def _opinion_line(kb: KnowledgeBase, question: str, language: str) -> str:
    """The second opinion (bot/knowledge/learned.py) and when it answers."""
    t = kb.thresholds_for(language)
    opinion = kb.opinion(question, language)
    if language != BASE_LANGUAGE:
        return f"(classifier: it learns the {BASE_LANGUAGE} articles only; the scores decide here)"
    if opinion is None:
        return "(classifier: none trained, or it knows no part of the question)"
    return (
        f"classifier's first: {opinion.article} ({opinion.probability:.2f}); it stands in"
        f" for the lead when it is the best above too, at {t.learned_probability:.2f} or more"
    )


def _opinion_json(kb: KnowledgeBase, question: str, language: str) -> list[dict[str, Any]] | None:
    opinion = kb.opinion(question, language)
    if opinion is None:
        return None
    return [{"article": a, "probability": round(p, 4)} for a, p in opinion.likeliest]


def _parts_json(c: Candidate) -> dict[str, Any]:
    totals = points_by_kind(c.parts)
    return {
        "lexical": round(totals["lexical"], 4) if "lexical" in totals else None,
        "semantic": round(totals["semantic"], 4) if "semantic" in totals else None,
        "detail": [
            {
                "name": p.name,
                "kind": p.kind,
                "signal": round(p.signal, 4),
                "weight": round(p.weight, 4),
                "points": round(p.points, 4),
            }
            for p in c.parts
        ],
    }


def _parts_line(c: Candidate) -> str:
    """`lexical 0.512 (words 0.80×0.45 + ...); semantic 0.210 (meaning 0.42×0.50)`:
    each part's signal times its weight, summed by kind."""
    totals = points_by_kind(c.parts)
    pieces = []
    for kind in ("lexical", "semantic"):
        parts = [p for p in c.parts if p.kind == kind]
        if not parts:
            continue
        terms = " + ".join(f"{p.name} {p.signal:.2f}×{p.weight:.2f}" for p in parts)
        pieces.append(f"{kind} {totals[kind]:.3f} ({terms})")
    return "; ".join(pieces)


@dataclass
class _Tally:
    by_language: dict[str, _Tally] = field(default_factory=dict)  # lines with a "lang"
    questions: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    menu_sizes: Counter[int] = field(default_factory=Counter)  # every menu, by options offered
    one_option: int = 0  # in-scope questions asked back with a single option
    timings: list[float] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)


def read_eval(path: Path) -> list[tuple[str, Expected]]:
    """(question, what should answer it) pairs; ValueError names the bad line.

    A line is {"text": "...", "article": "id" or null}, optionally with
    "also": ["id", ...], more articles that answer it as well (a question asking
    two things, or one that two articles answer): the pair's second item is then
    the tuple of all of them, the best first."""
    return [(text, expected) for text, expected, _ in read_eval_rows(path)]


def read_eval_rows(path: Path) -> list[tuple[str, Expected, str | None]]:
    """read_eval's pairs with each line's "lang" (an ISO 639-1 code, the language
    the question is asked in), None where the line has none (the base language)."""
    pairs: list[tuple[str, Expected, str | None]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not JSON: {error.msg}") from error
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("text"), str)
                or not (row.get("article") is None or isinstance(row.get("article"), str))
            ):
                raise ValueError(
                    f'{path}:{number}: expected {{"text": "...", "article": "id" or null}}'
                )
            article, also = row.get("article"), row.get("also", [])
            if (
                not isinstance(also, list)
                or not all(isinstance(a, str) and a for a in also)
                or (also and article is None)
            ):
                raise ValueError(
                    f'{path}:{number}: "also" must be a list of article ids,'
                    ' next to an "article" that is not null'
                )
            lang = row.get("lang")
            if lang is not None and (not isinstance(lang, str) or code(lang) != lang.lower()):
                raise ValueError(
                    f'{path}:{number}: "lang" must be a two-letter ISO 639-1 code, got {lang!r}'
                )
            expected = (str(article), *also) if also else article
            pairs.append((row["text"], expected, lang.lower() if lang else None))
    return pairs


def accepted(expected: Expected) -> tuple[str, ...]:
    """The articles that answer rightly (none: the question is out of scope)."""
    if expected is None:
        return ()
    return (expected,) if isinstance(expected, str) else expected


def evaluate(
    kb: KnowledgeBase,
    pairs: Sequence[tuple[str, Expected]],
    progress: bool,
    languages: Sequence[str | None] = (),
) -> _Tally:
    """Every question decided and tallied; with `languages` (each pair's, None for
    the base language), in the language's tally in `by_language` as well."""
    tally = _Tally()
    every = max(1, len(pairs) // 50)
    for n, (text, expected) in enumerate(pairs, 1):
        language = languages[n - 1] if languages else None
        started = time.perf_counter()
        # (a line without a language is asked as before: a stand-in with decide(text) works)
        decision = kb.decide(text, language) if language else kb.decide(text)
        took = (time.perf_counter() - started) * 1000
        said = f"[{language or BASE_LANGUAGE}] " if any(languages) else ""
        _record(tally, text, expected, decision, took, said)
        if any(languages):
            own = tally.by_language.setdefault(language or BASE_LANGUAGE, _Tally())
            _record(own, text, expected, decision, took)
        if progress and (n % every == 0 or n == len(pairs)):
            done = n * 30 // len(pairs)
            print(f"\r[{'#' * done}{'.' * (30 - done)}] {n}/{len(pairs)}", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    return tally


def _record(
    tally: _Tally, text: str, expected: Expected, decision: Decision, took: float, said: str = ""
) -> None:
    """One decision in `tally`; `said` starts its line among the mistakes ("[de] ")."""
    tally.timings.append(took)
    ids = [c.article.id for c in decision.candidates]
    tally.questions += 1
    right = accepted(expected)
    if decision.kind == "clarify":
        tally.menu_sizes[len(ids)] += 1
    if not right:
        tally.out_of_scope += 1
        outcome = {"answer": "oos_answered", "unknown": "oos_refused"}.get(
            decision.kind, "oos_clarified"
        )
    else:
        tally.in_scope += 1
        if decision.kind == "answer":
            outcome = "answered_correct" if ids[0] in right else "answered_wrong"
        elif decision.kind == "clarify":
            outcome = "clarified" if any(a in ids for a in right) else "clarified_without"
            tally.one_option += len(ids) == 1
        else:
            outcome = "unknown"
    tally.outcomes[outcome] += 1
    if outcome in ("answered_wrong", "oos_answered"):
        tally.mistakes.append(f"{said}{text!r} → {ids[0]} (expected {' or '.join(right) or None})")


def _fraction(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def summary(tally: _Tally) -> dict[str, Any]:
    o, i, x = tally.outcomes, tally.in_scope, tally.out_of_scope
    timings = sorted(tally.timings) or [0.0]
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return {
        "questions": tally.questions,
        "in_scope": i,
        "out_of_scope": x,
        "answered_correct": _fraction(o["answered_correct"], i),
        "answered_wrong": _fraction(o["answered_wrong"], i),
        "clarified": _fraction(o["clarified"], i),
        "clarified_without": _fraction(o["clarified_without"], i),
        "unknown": _fraction(o["unknown"], i),
        "right_or_offered": _fraction(o["answered_correct"] + o["clarified"], i),
        "asked_back": _fraction(o["clarified"] + o["clarified_without"], i),
        "one_option_menus": _fraction(tally.one_option, i),
        "oos_refused": _fraction(o["oos_refused"], x),
        "oos_answered": _fraction(o["oos_answered"], x),
        "oos_clarified": _fraction(o["oos_clarified"], x),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(p99, 3),
        "counts": dict(sorted(o.items())),
        "menu_sizes": {str(k): v for k, v in sorted(tally.menu_sizes.items())},
    } | (
        {"by_language": {k: summary(v) for k, v in sorted(tally.by_language.items())}}
        if tally.by_language
        else {}
    )


def _thresholds(t: Thresholds) -> dict[str, float]:
    return {
        "answer_score": t.answer_score,
        "answer_margin": t.answer_margin,
        "clarify_score": t.clarify_score,
        "clarify_spread": t.clarify_spread,
        "max_options": t.max_options,
        "learned_probability": t.learned_probability,
    }


def kb_eval(kb: KnowledgeBase, path: Path, as_json: bool, out: TextIO | None = None) -> int:
    """Measure decisions against a JSONL file of questions and expected articles;
    per language too when lines say which they are in ("lang")."""
    out = out or sys.stdout
    rows = read_eval_rows(path)
    pairs = [(text, expected) for text, expected, _ in rows]
    unknown_ids = sorted({a for _, e in pairs for a in accepted(e) if kb.get(a) is None})
    if unknown_ids:
        raise ValueError(f"{path} expects articles that do not exist: {', '.join(unknown_ids)}")
    progress = not as_json and len(pairs) >= 200 and sys.stderr.isatty()
    tally = evaluate(kb, pairs, progress, [lang for _, _, lang in rows])
    result = summary(tally)
    if as_json:
        result["thresholds"] = _thresholds(kb.thresholds)
        for language, each in result.get("by_language", {}).items():
            each["thresholds"] = _thresholds(kb.thresholds_for(language))
        print(json.dumps(result), file=out)
        return 0
    columns = [("all", result), *result.get("by_language", {}).items()]
    table = _table([r for _, r in columns])
    width = max(len(label) for label, _, _ in table)
    if len(columns) > 1:
        heads = "".join(f"{name:>14}" for name, _ in columns)
        print(f"{'':<{width}}{heads}", file=out)
    for label, values, comment in table:
        cells = "".join(f"{v:>14}" for v in values)
        print(f"{label:<{width}}{cells}  {comment}".rstrip(), file=out)
    if tally.mistakes:
        print(f"\nwrong answers ({len(tally.mistakes)}, first 15):", file=out)
        for line in tally.mistakes[:15]:
            print(f"  {line}", file=out)
    return 0


def _table(results: list[dict[str, Any]]) -> list[tuple[str, list[str], str]]:
    """kb eval's rows: a label, one value per result (overall, then each language's),
    a comment."""

    def row(label: str, key: str, comment: str = "") -> tuple[str, list[str], str]:
        group = "out_of_scope" if key.startswith("oos_") else "in_scope"
        return label, [_pct(r[key]) if r[group] else "–" for r in results], comment

    return [
        ("in-scope questions", [str(r["in_scope"]) for r in results], ""),
        row("  answered rightly", "answered_correct", "higher is better"),
        row("  answered WRONGLY", "answered_wrong", "the worst outcome"),
        row("  asked back, right option offered", "clarified", "good"),
        row("  asked back, right option missing", "clarified_without"),
        row("  asked back in all (a menu)", "asked_back", "fewer is better"),
        row("    a menu of one option", "one_option_menus", "a yes/no would do"),
        row("  said it does not know", "unknown", "honest"),
        ("out-of-scope questions", [str(r["out_of_scope"]) for r in results], ""),
        row("  refused honestly", "oos_refused", "higher is better"),
        row("  answered anyway", "oos_answered", "a wrong answer"),
        row("  asked back", "oos_clarified"),
        (
            "latency p50 / p99 ms",
            [f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" for r in results],
            "",
        ),
    ]


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"
