"""`candor kb check | ask | eval`: the tools for writing and measuring articles.

Each returns the process exit code and prints to stdout (progress to stderr)."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.knowledge.analysis import content_words, sorted_phrase
from bot.knowledge.articles import Problem, load_articles
from bot.knowledge.base import KnowledgeBase, Thresholds

CONFUSION_MARGIN = 0.02  # an own question scoring this close to another article is confusing


def kb_check(directory: Path, out: TextIO | None = None) -> int:
    """Validate every article; exit code 1 when there is an error."""
    out = out or sys.stdout
    articles, problems = load_articles(directory)
    owner: dict[str, tuple[str, Path | None, int]] = {}
    for article in articles:
        for question in article.questions:
            key = sorted_phrase(content_words(question))
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
        kb = KnowledgeBase.of(articles, Thresholds())
        for article in articles:
            for question in article.questions:
                ranked = kb.rank(question, 2)
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
    for problem in problems:
        print(problem, file=out)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    print(
        f"{len(articles)} articles checked in {directory}: {errors} errors, {warnings} warnings",
        file=out,
    )
    return 1 if errors else 0


def kb_ask(kb: KnowledgeBase, question: str, as_json: bool, out: TextIO | None = None) -> int:
    """What the bot would do with one question, and why."""
    out = out or sys.stdout
    decision = kb.decide(question)
    ranked = kb.rank(question, 5)
    offered = {c.article.id for c in decision.candidates} if decision.kind != "unknown" else set()
    if as_json:
        payload = {
            "query": question,
            "decision": decision.kind,
            "articles": [c.article.id for c in decision.candidates]
            if decision.kind != "unknown"
            else [],
            "candidates": [
                {
                    "article": c.article.id,
                    "title": c.article.title,
                    "score": round(c.score, 4),
                    "offered": c.article.id in offered,
                    "why": c.why,
                }
                for c in ranked
            ],
            "thresholds": _thresholds(kb.thresholds),
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2), file=out)
        return 0
    t = kb.thresholds
    if decision.kind == "answer":
        headline = f"answer with “{decision.candidates[0].article.title}”"
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
    for n, c in enumerate(ranked, 1):
        mark = "*" if c.article.id in offered else " "
        print(f"{mark}{n}. {c.score:.3f}  {c.article.id}  “{c.article.title}”", file=out)
        print(f"      {c.why}", file=out)
    return 0


@dataclass
class _Tally:
    questions: int = 0
    in_scope: int = 0
    out_of_scope: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    timings: list[float] = field(default_factory=list)
    mistakes: list[str] = field(default_factory=list)


def read_eval(path: Path) -> list[tuple[str, str | None]]:
    """(question, expected article or None) pairs; ValueError names the bad line."""
    pairs: list[tuple[str, str | None]] = []
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
            pairs.append((row["text"], row.get("article")))
    return pairs


def evaluate(kb: KnowledgeBase, pairs: list[tuple[str, str | None]], progress: bool) -> _Tally:
    tally = _Tally()
    every = max(1, len(pairs) // 50)
    for n, (text, expected) in enumerate(pairs, 1):
        started = time.perf_counter()
        decision = kb.decide(text)
        tally.timings.append((time.perf_counter() - started) * 1000)
        ids = [c.article.id for c in decision.candidates]
        tally.questions += 1
        if expected is None:
            tally.out_of_scope += 1
            outcome = {"answer": "oos_answered", "unknown": "oos_refused"}.get(
                decision.kind, "oos_clarified"
            )
        else:
            tally.in_scope += 1
            if decision.kind == "answer":
                outcome = "answered_correct" if ids[0] == expected else "answered_wrong"
            elif decision.kind == "clarify":
                outcome = "clarified" if expected in ids else "clarified_without"
            else:
                outcome = "unknown"
        tally.outcomes[outcome] += 1
        if outcome in ("answered_wrong", "oos_answered"):
            tally.mistakes.append(f"{text!r} → {ids[0]} (expected {expected})")
        if progress and (n % every == 0 or n == len(pairs)):
            done = n * 30 // len(pairs)
            print(f"\r[{'#' * done}{'.' * (30 - done)}] {n}/{len(pairs)}", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    return tally


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
        "oos_refused": _fraction(o["oos_refused"], x),
        "oos_answered": _fraction(o["oos_answered"], x),
        "oos_clarified": _fraction(o["oos_clarified"], x),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(p99, 3),
        "counts": dict(sorted(o.items())),
    }


def _thresholds(t: Thresholds) -> dict[str, float]:
    return {
        "answer_score": t.answer_score,
        "answer_margin": t.answer_margin,
        "clarify_score": t.clarify_score,
        "clarify_spread": t.clarify_spread,
        "max_options": t.max_options,
    }


def kb_eval(kb: KnowledgeBase, path: Path, as_json: bool, out: TextIO | None = None) -> int:
    """Measure decisions against a JSONL file of questions and expected articles."""
    out = out or sys.stdout
    pairs = read_eval(path)
    unknown_ids = sorted({a for _, a in pairs if a is not None and kb.get(a) is None})
    if unknown_ids:
        raise ValueError(f"{path} expects articles that do not exist: {', '.join(unknown_ids)}")
    tally = evaluate(kb, pairs, progress=not as_json and len(pairs) >= 200 and sys.stderr.isatty())
    result = summary(tally)
    if as_json:
        result["thresholds"] = _thresholds(kb.thresholds)
        print(json.dumps(result), file=out)
        return 0
    rows = [
        ("in-scope questions", str(result["in_scope"]), ""),
        ("  answered rightly", _pct(result["answered_correct"]), "higher is better"),
        ("  answered WRONGLY", _pct(result["answered_wrong"]), "the worst outcome"),
        ("  asked back, right option offered", _pct(result["clarified"]), "good"),
        ("  asked back, right option missing", _pct(result["clarified_without"]), ""),
        ("  said it does not know", _pct(result["unknown"]), "honest"),
        ("out-of-scope questions", str(result["out_of_scope"]), ""),
        ("  refused honestly", _pct(result["oos_refused"]), "higher is better"),
        ("  answered anyway", _pct(result["oos_answered"]), "a wrong answer"),
        ("  asked back", _pct(result["oos_clarified"]), ""),
        ("latency p50 / p99", f"{result['p50_ms']:.2f} / {result['p99_ms']:.2f} ms", ""),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value, comment in rows:
        print(f"{label:<{width}}  {value:>18}  {comment}".rstrip(), file=out)
    if tally.mistakes:
        print(f"\nwrong answers ({len(tally.mistakes)}, first 15):", file=out)
        for line in tally.mistakes[:15]:
            print(f"  {line}", file=out)
    return 0


def _pct(fraction: float) -> str:
    return f"{fraction * 100:.1f}%"
