"""Benchmark Candor's knowledge matcher side by side with a plain rapidfuzz baseline.

Three matchers, measured in the same run on the same machine:

- candor, semantic "off": words only (the default install), its default thresholds;
- candor, semantic "static": the static embedding fused in, its default thresholds;
- rapidfuzz: `WRatio` of the question against each article's title and questions
  (rapidfuzz `default_process` on both), an article scoring its best text, so that
  the top article is `process.extractOne`'s best choice. The same decision shape as
  Candor's: answer the top article at >= T_answer, offer the top 3 at >= T_clarify,
  else say it does not know. (The quality part also shows token_sort_ratio in the
  same shape, the baseline RESULTS.md compared with before: WRatio's partial
  matching scores many short texts 90 alike, and extractOne takes the first.)

1. Quality on the public intent datasets in ../shared/benchmarks: BANKING77 with its
   out-of-scope questions, HWU64, and the calibration set (the HWU64 knowledge base
   asked its own questions plus the first 1,000 BANKING77 in-scope questions as out
   of scope). Candor's thresholds were chosen on the calibration set by
   benchmarks/threshold_sweep.py; the baseline's two are swept here on the same set
   by the same rule: no more risk than the words-only matcher with its defaults takes
   there (answered wrong and out-of-scope answered no higher, out-of-scope refused no
   lower), then the most right answers plus right-or-offered.
2. Scaling on synthetic knowledge bases (1,000, 10,000 and 50,000 articles of 10
   questions): build time, peak RSS and the latency of a decision for a new
   question (p50, p99), each matcher and size in a fresh subprocess (peak RSS is a
   process's high-water mark); then `candor kb eval` itself, run as a subprocess on
   the same articles written as Markdown files (the issue's target: at most 400 MiB
   peak RSS at 10,000 articles, decide p99 at most 5 ms there).
3. Where the build's memory goes, by phase, at 10,000 articles (traced with
   tracemalloc in a subprocess of its own: reading the articles, the word postings,
   the n-gram features, the static embedding matrix).

Run from the repository root:

    .venv/bin/python benchmarks/knowledge_bench.py [--shared ../shared/benchmarks]
        [--sizes 1000,10000,50000] [--parts quality,scaling,phases] [--quick] [--json]

Everything is deterministic (fixed seeds, sorted inputs) apart from the timings and
the memory readings.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import rapidfuzz
from rapidfuzz import fuzz, process
from rapidfuzz.utils import default_process

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import peak_rss_bytes, rss_bytes

from bot.knowledge import (
    Article,
    Candidate,
    Decision,
    KnowledgeBase,
    Semantic,
    Thresholds,
    load_articles,
)
from bot.knowledge.tools import evaluate, read_eval, summary

SEED = 20240611
CALIBRATION_OOS = 1000  # banking77 in-scope questions relabelled out of scope
FALLBACK_WRONG = 0.05  # RESULTS.md's bounds, if nothing meets the words-only matcher's
FALLBACK_OOS_ANSWERED = 0.10
QUERIES = 1000  # new questions asked of each synthetic knowledge base
QUICK_QUERIES = 200
QUICK_STRIDE = 5  # --quick keeps every 5th evaluation question
QUESTIONS_PER_ARTICLE = 10
WARMUP = 20
FUZZ_BUDGET = 5_000_000  # texts compared per size by the rapidfuzz scan (it is slow)
MIN_FUZZ_QUERIES = 20
SIZES = "1000,10000,50000"
QUICK_SIZES = "1000"
MATCHERS = ("off", "static", "minilm", "wratio")
DEFAULT_MATCHERS = "off,static,wratio"  # (minilm needs the extra candor-support[semantic])
# the plain rapidfuzz baselines of the quality part: the brief's WRatio, and the
# token_sort_ratio one RESULTS.md compared with before (WRatio's partial matching
# scores many short texts 90 alike, and extractOne takes the first of a tie)
BASELINES: dict[str, Callable[..., float]] = {
    "wratio": fuzz.WRatio,
    "token_sort": fuzz.token_sort_ratio,
}
MATCHER_NAMES = {
    "off": "candor words only (semantic off)",
    "static": "candor + static embedding (semantic static)",
    "wratio": "rapidfuzz WRatio extractOne",
}
PHASES_SIZE = 10_000  # articles the traced phases are shown at (tracing is slow)
KB_EVAL_TARGET_MIB = 400.0
P99_TARGET_MS = 5.0

Pair = tuple[str, str | None]
Floats = npt.NDArray[np.float64]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


@dataclass
class Dataset:
    name: str
    articles: list[Article]
    pairs: list[Pair]

    @property
    def in_scope(self) -> int:
        return sum(1 for _, expected in self.pairs if expected is not None)

    @property
    def out_of_scope(self) -> int:
        return len(self.pairs) - self.in_scope


def load_knowledge(directory: Path) -> list[Article]:
    articles, problems = load_articles(directory)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SystemExit(f"{directory}: {len(errors)} broken articles, first: {errors[0]}")
    return sorted(articles, key=lambda a: a.id)


def load_datasets(shared: Path, quick: bool) -> tuple[list[Dataset], Dataset]:
    """The three quality datasets (calibration set last and also returned alone)."""
    banking_articles = load_knowledge(shared / "banking77" / "knowledge")
    hwu_articles = load_knowledge(shared / "hwu64" / "knowledge")
    banking_pairs = read_eval(shared / "banking77" / "eval.jsonl")
    hwu_pairs = read_eval(shared / "hwu64" / "eval.jsonl")
    relabelled: list[Pair] = [
        (text, None) for text, expected in banking_pairs if expected is not None
    ][:CALIBRATION_OOS]
    calibration_pairs = hwu_pairs + relabelled
    if quick:
        banking_pairs = banking_pairs[::QUICK_STRIDE]
        hwu_pairs = hwu_pairs[::QUICK_STRIDE]
        calibration_pairs = calibration_pairs[::QUICK_STRIDE]
    calibration = Dataset("calibration", hwu_articles, calibration_pairs)
    datasets = [
        Dataset("banking77+OOS", banking_articles, banking_pairs),
        Dataset("hwu64", hwu_articles, hwu_pairs),
        calibration,
    ]
    return datasets, calibration


# --------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class FuzzThresholds:
    answer: float
    clarify: float


class FuzzBaseline:
    """Plain rapidfuzz: `WRatio` of the question against every article's title and
    questions (both through rapidfuzz's `default_process`: lower-cased, punctuation
    removed); an article scores its best text, so the top article is
    `process.extractOne`'s best choice (ties: the first). Answer at >= T_answer, offer
    the top 3 articles at >= T_clarify, else unknown.

    It has `decide` with Candor's Decision type so that `tools.evaluate` counts and
    times it exactly as it does Candor.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        thresholds: FuzzThresholds,
        scorer: Callable[..., float] = fuzz.WRatio,
    ) -> None:
        self.articles = list(articles)
        self.thresholds = thresholds
        self.scorer = scorer
        self.choices: list[str] = []
        starts: list[int] = []
        for article in self.articles:
            starts.append(len(self.choices))
            self.choices.extend(default_process(t) for t in (article.title, *article.questions))
        self._starts = np.asarray(starts, dtype=np.intp)

    def article_scores(self, text: str) -> Floats:
        row = process.cdist(
            [default_process(text)],
            self.choices,
            scorer=self.scorer,
            dtype=np.float64,
            workers=1,
        )[0]
        return cast(Floats, np.maximum.reduceat(row, self._starts))

    def top(self, text: str, limit: int = 3) -> list[tuple[int, float]]:
        """(article index, score) best first; ties go to the earlier article, as in
        extractOne, which returns the first best choice."""
        scores = self.article_scores(text)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [(int(i), float(scores[i])) for i in order]

    def decide(self, text: str) -> Decision:
        ranked = [
            Candidate(self.articles[i], score / 100.0, self.scorer.__name__)
            for i, score in self.top(text, 3)
        ]
        best = ranked[0].score * 100.0 if ranked else 0.0
        if best >= self.thresholds.answer:
            return Decision("answer", tuple(ranked[:1]), text)
        if best >= self.thresholds.clarify:
            return Decision("clarify", tuple(ranked), text)
        return Decision("unknown", tuple(ranked), text)


@dataclass
class Sweep:
    thresholds: FuzzThresholds
    answered_correct: float
    answered_wrong: float
    right_or_offered: float
    oos_answered: float
    oos_refused: float
    feasible: int  # threshold pairs meeting the bounds
    bounds: dict[str, float]


def sweep_baseline(baseline: FuzzBaseline, dataset: Dataset, bound: dict[str, float]) -> Sweep:
    """Every integer pair 0 <= T_clarify <= T_answer <= 100; among the pairs within
    `bound` (answered wrong and OOS answered at most, OOS refused at least: the
    words-only matcher's figures there), the most right answers plus right-or-offered
    (ties: more OOS refused, then lower thresholds): threshold_sweep.py's rule. If no
    pair is within them, RESULTS.md's older bounds (wrong <= 5%, OOS answered <= 10%)."""
    ids = [a.id for a in baseline.articles]
    best_score, top1_right, top3_right, oos = [], [], [], []
    for text, expected in dataset.pairs:
        ranked = baseline.top(text, 3)
        best_score.append(ranked[0][1] if ranked else 0.0)
        top1_right.append(bool(ranked) and ids[ranked[0][0]] == expected)
        top3_right.append(any(ids[i] == expected for i, _ in ranked))
        oos.append(expected is None)
    s = np.asarray(best_score)
    t1 = np.asarray(top1_right)
    t3 = np.asarray(top3_right)
    is_oos = np.asarray(oos)
    n_in = max(1, int((~is_oos).sum()))
    n_oos = max(1, int(is_oos.sum()))
    fallback = {"wrong": FALLBACK_WRONG, "oos_answered": FALLBACK_OOS_ANSWERED, "oos_refused": 0.0}
    for bounds in (bound, fallback):
        best: tuple[tuple[int, int], Sweep] | None = None
        feasible = 0
        for t_answer in range(101):
            answered = s >= t_answer
            right = int((answered & t1 & ~is_oos).sum())
            wrong = int((answered & ~t1 & ~is_oos).sum())
            oos_answered = int((answered & is_oos).sum())
            if wrong > bounds["wrong"] * n_in or oos_answered > bounds["oos_answered"] * n_oos:
                continue
            for t_clarify in range(t_answer + 1):
                clarified = (s >= t_clarify) & ~answered
                offered = int((clarified & t3 & ~is_oos).sum())
                refused = int((~(s >= t_clarify) & is_oos).sum())
                if refused < bounds["oos_refused"] * n_oos:
                    continue
                feasible += 1
                key = (2 * right + offered, refused)
                if best is None or key > best[0]:
                    best = (
                        key,
                        Sweep(
                            FuzzThresholds(float(t_answer), float(t_clarify)),
                            answered_correct=right / n_in,
                            answered_wrong=wrong / n_in,
                            right_or_offered=(right + offered) / n_in,
                            oos_answered=oos_answered / n_oos,
                            oos_refused=refused / n_oos,
                            feasible=0,
                            bounds=bounds,
                        ),
                    )
        if best is not None:
            best[1].feasible = feasible
            return best[1]
    raise SystemExit("no baseline thresholds meet the calibration bounds")


# ---------------------------------------------------------------------- quality


@dataclass
class QualityRow:
    dataset: str
    matcher: str
    in_scope: int
    out_of_scope: int
    result: dict[str, Any]
    top1: float
    top3: float


def ranking_accuracy(
    ranker: Callable[[str], list[str]], pairs: Sequence[Pair]
) -> tuple[float, float]:
    """Top-1 and top-3 accuracy over the in-scope questions."""
    top1 = top3 = total = 0
    for text, expected in pairs:
        if expected is None:
            continue
        ranked = ranker(text)
        total += 1
        top1 += bool(ranked) and ranked[0] == expected
        top3 += expected in ranked[:3]
    return (top1 / total, top3 / total) if total else (0.0, 0.0)


def quality_row(
    dataset: Dataset, label: str, matcher: Any, ranker: Callable[[str], list[str]]
) -> QualityRow:
    for article in dataset.articles[:WARMUP]:  # warm up on texts that are not asked
        matcher.decide(f"{article.title}?")
    gc.collect()
    result = summary(evaluate(cast(KnowledgeBase, matcher), dataset.pairs, False))
    top1, top3 = ranking_accuracy(ranker, dataset.pairs)
    return QualityRow(
        dataset.name,
        label,
        dataset.in_scope,
        dataset.out_of_scope,
        result,
        round(top1, 4),
        round(top3, 4),
    )


def candor_row(dataset: Dataset, semantic: Semantic) -> QualityRow:
    kb = KnowledgeBase.of(dataset.articles, semantic=semantic)
    return quality_row(
        dataset, semantic, kb, lambda t, kb=kb: [c.article.id for c in kb.rank(t, 3)]
    )


def measure_quality(
    datasets: list[Dataset], calibration: Dataset, semantics: list[Semantic], baseline: bool
) -> tuple[list[QualityRow], dict[str, Sweep]]:
    """Every dataset with every matcher; the baselines' thresholds swept first on the
    calibration set within the words-only matcher's figures there."""
    rows: list[QualityRow] = []
    log("quality: words only on the calibration set (the bounds of the baselines' sweep)")
    words_only = candor_row(calibration, "off")
    r = words_only.result
    bound = {
        "wrong": r["answered_wrong"],
        "oos_answered": r["oos_answered"],
        "oos_refused": r["oos_refused"],
    }
    swept: dict[str, Sweep] = {}
    for name, scorer in BASELINES.items() if baseline else ():
        log(f"quality: sweeping the {name} baseline's thresholds on the calibration set")
        every = FuzzBaseline(calibration.articles, FuzzThresholds(0, 0), scorer)
        swept[name] = sweep_baseline(every, calibration, bound)
    for dataset in datasets:
        log(f"quality: {dataset.name} ({len(dataset.pairs)} questions)")
        for semantic in semantics:
            same = dataset is calibration and semantic == "off"
            rows.append(words_only if same else candor_row(dataset, semantic))
        for name, sweep in swept.items():
            fuzzy = FuzzBaseline(dataset.articles, sweep.thresholds, BASELINES[name])
            rows.append(
                quality_row(
                    dataset,
                    name,
                    fuzzy,
                    lambda t, b=fuzzy: [b.articles[i].id for i, _ in b.top(t, 3)],
                )
            )
    return rows, swept


# ---------------------------------------------------------------------- scaling


def sentence_pool(articles: Sequence[Article]) -> tuple[list[list[str]], list[str]]:
    """Each real article's questions, and every word token of them (the vocabulary,
    with repeats so that swapped-in words follow the pool's word frequencies)."""
    sources = [list(a.questions) for a in articles if a.questions]
    tokens = [w for qs in sources for q in qs for w in re.findall(r"[a-z']+", q.lower())]
    return sources, tokens


def synthetic_article(k: int, sources: list[list[str]], tokens: list[str]) -> Article:
    """Article k: the questions of real intent k mod N with 1-2 words of each swapped
    for pool words, so that copies of the same intent differ. Seeded per article, so
    a smaller knowledge base is a prefix of a larger one."""
    rng = random.Random(SEED * 1_000_003 + k)
    source = sources[k % len(sources)]
    questions: list[str] = []
    for n in range(QUESTIONS_PER_ARTICLE):
        words = source[n % len(source)].split()
        for position in rng.sample(range(len(words)), min(len(words), rng.choice((1, 2)))):
            words[position] = rng.choice(tokens)
        questions.append(" ".join(words))
    first = re.findall(r"[A-Za-z']+", questions[0])
    title_words = [*first[: rng.randint(2, 4)], rng.choice(tokens)]
    title = " ".join(title_words).capitalize()
    return Article(
        id=f"syn-{k:05d}",
        title=title,
        questions=tuple(questions),
        tags=(),
        body=f"Synthetic article {k}.",
    )


def synthetic_articles(shared: Path, n: int) -> list[Article]:
    pool = load_knowledge(shared / "banking77" / "knowledge") + load_knowledge(
        shared / "hwu64" / "knowledge"
    )
    sources, tokens = sentence_pool(pool)
    return [synthetic_article(k, sources, tokens) for k in range(n)]


def new_questions(shared: Path, count: int) -> tuple[list[str], list[str]]:
    """(warm-up, timed): distinct BANKING77 evaluation questions (in scope and out
    of scope), a seeded sample, none asked twice (a decision is cached)."""
    texts = list(dict.fromkeys(text for text, _ in read_eval(shared / "banking77" / "eval.jsonl")))
    picked = random.Random(SEED).sample(texts, count + WARMUP)
    return picked[:WARMUP], picked[WARMUP:]


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The same rule as tools.summary: the value at index int(n * fraction)."""
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def time_queries(
    ask: Callable[[str], object], warmup: Sequence[str], queries: Sequence[str]
) -> list[float]:
    for text in warmup:
        ask(text)
    gc.collect()
    timings: list[float] = []
    for text in queries:
        started = time.perf_counter()
        ask(text)
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def worker(kind: str, n: int, shared: Path, count: int) -> dict[str, Any]:
    """One matcher at one size, in this (fresh) process: build, then new questions."""
    articles = synthetic_articles(shared, n)
    warmup, queries = new_questions(shared, count)
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    ask: Callable[[str], object]
    if kind == "wratio":
        choices = [default_process(t) for a in articles for t in (a.title, *a.questions)]
        queries = queries[: max(MIN_FUZZ_QUERIES, min(len(queries), FUZZ_BUDGET // len(choices)))]

        def ask(text: str) -> object:
            return process.extractOne(
                default_process(text), choices, scorer=fuzz.WRatio, processor=None
            )

    else:
        kb = KnowledgeBase.of(articles, semantic=cast(Semantic, kind))
        ask = kb.decide
    build_s = time.perf_counter() - started
    built_peak = peak_rss_bytes()
    timings = time_queries(ask, warmup, queries)
    return {
        "build_s": round(build_s, 3),
        "rss_articles_mib": round(before / 2**20, 1),
        "peak_build_mib": round(built_peak / 2**20, 1),
        "queries": len(timings),
        "p50_ms": round(statistics.median(timings), 3),
        "p99_ms": round(percentile(timings, 0.99), 3),
        "max_ms": round(timings[-1], 3),
        "mean_ms": round(statistics.fmean(timings), 3),
    }


def phases_worker(n: int, shared: Path) -> list[dict[str, Any]]:
    """The build's phases one after another, each traced (tracemalloc: what Python and
    numpy allocate) for its own peak, with the RSS after it."""
    from bot.knowledge import index
    from bot.knowledge.embedding import StaticEncoder
    from bot.knowledge.matcher import Matcher

    rows: list[dict[str, Any]] = []
    tracemalloc.start()

    def phase(name: str, run: Callable[[], object]) -> object:
        gc.collect()
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        done = run()
        now, peak = tracemalloc.get_traced_memory()
        rows.append(
            {
                "phase": name,
                "kept_mib": round((now - start) / 2**20, 1),
                "peak_mib": round((peak - start) / 2**20, 1),
                "rss_mib": round(rss_bytes() / 2**20, 1),
            }
        )
        return done

    articles = cast(
        list[Article], phase(f"{n:,} articles in memory", lambda: synthetic_articles(shared, n))
    )
    reader = cast(
        Any, phase("reading: texts to word, stem, n-gram ids", lambda: index.read(articles))
    )
    phase("word postings (BM25)", partial(index._words_index, reader, n))
    phase(
        "n-gram features (shape), in slices",
        partial(index._shape_index, reader, n, index.BUILD_SLICE),
    )
    reader = None
    encoder = cast(StaticEncoder, phase("static embedding loaded", StaticEncoder.shipped))
    meaning = Matcher.__new__(Matcher)
    meaning.articles, meaning._n, meaning._encoder = articles, n, encoder
    phase("static embedding matrix (articles x dims)", meaning._build_meaning)
    phase("whole Matcher, semantic off", lambda: Matcher(articles, "off"))
    phase("whole Matcher, semantic static", lambda: Matcher(articles, "static"))
    tracemalloc.stop()
    return rows


def write_knowledge(articles: Sequence[Article], directory: Path) -> None:
    """The articles as Markdown files with TOML front matter, as `candor` reads them."""
    directory.mkdir(parents=True, exist_ok=True)
    for a in articles:
        questions = ", ".join(json.dumps(q, ensure_ascii=False) for q in a.questions)
        (directory / f"{a.id}.md").write_text(
            f"+++\nid = {json.dumps(a.id)}\ntitle = {json.dumps(a.title, ensure_ascii=False)}\n"
            f"questions = [{questions}]\n+++\n{a.body}\n",
            encoding="utf-8",
        )


def run_measured(argv: list[str]) -> tuple[str, float, float]:
    """(stdout, peak RSS MiB, seconds) of a subprocess, its own peak from wait4."""
    started = time.perf_counter()
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} exited with {child.returncode}")
    return out, usage.ru_maxrss / 1024, time.perf_counter() - started


@dataclass
class ScaleRow:
    articles: int
    matcher: str
    build_s: float
    rss_articles_mib: float  # before the build: the interpreter, libraries and articles
    peak_build_mib: float  # the process's peak RSS after the build
    peak_mib: float  # the process's peak RSS at its end (build and questions)
    queries: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


@dataclass
class EvalRow:
    articles: int
    semantic: str
    seconds: float
    peak_mib: float
    questions: int
    p50_ms: float
    p99_ms: float


def measure_scaling(
    shared: Path, sizes: list[int], matchers: list[str], count: int
) -> tuple[list[ScaleRow], list[EvalRow]]:
    rows: list[ScaleRow] = []
    evals: list[EvalRow] = []
    me = [sys.executable, str(Path(__file__).resolve()), "--shared", str(shared)]
    for n in sizes:
        for kind in matchers:
            log(f"scaling: {n:,} articles, {MATCHER_NAMES[kind]} (a fresh process)")
            argv = [*me, "--worker", kind, "--size", str(n), "--queries", str(count)]
            out, peak, _ = run_measured(argv)
            rows.append(ScaleRow(n, kind, peak_mib=round(peak, 1), **json.loads(out)))
        semantics = [k for k in matchers if k != "wratio"]
        if not semantics:
            continue
        with tempfile.TemporaryDirectory(prefix="candor-kb-") as folder:
            base = Path(folder)
            write_knowledge(synthetic_articles(shared, n), base / "knowledge")
            _, questions = new_questions(shared, count)
            with (base / "eval.jsonl").open("w", encoding="utf-8") as handle:
                for text in questions:
                    handle.write(json.dumps({"text": text, "article": None}) + "\n")
            for semantic in semantics:
                log(f"scaling: candor kb eval, {n:,} articles, semantic {semantic}")
                config = base / f"{semantic}.toml"
                config.write_text(f'[knowledge]\nsemantic = "{semantic}"\n', encoding="utf-8")
                argv = [sys.executable, "-m", "bot.cli", "kb", "eval", str(base / "eval.jsonl")]
                argv += ["--knowledge", str(base / "knowledge"), "--config", str(config), "--json"]
                out, peak, seconds = run_measured(argv)
                result = json.loads(out)
                evals.append(
                    EvalRow(
                        n,
                        semantic,
                        round(seconds, 1),
                        round(peak, 1),
                        result["questions"],
                        result["p50_ms"],
                        result["p99_ms"],
                    )
                )
    return rows, evals


def measure_phases(shared: Path, n: int) -> list[dict[str, Any]]:
    log(f"phases: {n:,} articles (a fresh process, traced)")
    me = [sys.executable, str(Path(__file__).resolve()), "--shared", str(shared)]
    out, _, _ = run_measured([*me, "--worker", "phases", "--size", str(n)])
    return cast(list[dict[str, Any]], json.loads(out))


# ----------------------------------------------------------------------- output


def pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def table(headers: list[str], rows: list[list[str]], left: int = 2) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def quality_table(rows: list[QualityRow]) -> str:
    headers = [
        "dataset",
        "matcher",
        "questions",
        "right",
        "wrong",
        "right-or-offered",
        "asked back",
        "1-option menus",
        "OOS answered",
        "OOS refused",
        "top-1",
        "top-3",
        "p50 ms",
        "p99 ms",
    ]
    body: list[list[str]] = []
    for row in rows:
        r = row.result
        has_oos = row.out_of_scope > 0
        body.append(
            [
                row.dataset,
                row.matcher,
                f"{row.in_scope}+{row.out_of_scope}",
                pct(r["answered_correct"]),
                pct(r["answered_wrong"]),
                pct(r["right_or_offered"]),
                pct(r["asked_back"]),
                pct(r["one_option_menus"]),
                pct(r["oos_answered"]) if has_oos else "-",
                pct(r["oos_refused"]) if has_oos else "-",
                pct(row.top1),
                pct(row.top3),
                f"{r['p50_ms']:.3f}",
                f"{r['p99_ms']:.3f}",
            ]
        )
    return table(headers, body)


def scaling_table(rows: list[ScaleRow]) -> str:
    headers = [
        "articles",
        "matcher",
        "build s",
        "RSS articles MiB",
        "peak after build MiB",
        "peak MiB",
        "questions",
        "p50 ms",
        "p99 ms",
        "max ms",
        "mean ms",
    ]
    body = [
        [
            f"{r.articles:,}",
            r.matcher,
            f"{r.build_s:.2f}",
            f"{r.rss_articles_mib:.1f}",
            f"{r.peak_build_mib:.1f}",
            f"{r.peak_mib:.1f}",
            str(r.queries),
            f"{r.p50_ms:.3f}",
            f"{r.p99_ms:.3f}",
            f"{r.max_ms:.3f}",
            f"{r.mean_ms:.3f}",
        ]
        for r in rows
    ]
    return table(headers, body, left=2)


def eval_table(rows: list[EvalRow]) -> str:
    headers = ["articles", "semantic", "questions", "wall s", "peak RSS MiB", "p50 ms", "p99 ms"]
    body = [
        [
            f"{r.articles:,}",
            r.semantic,
            str(r.questions),
            f"{r.seconds:.1f}",
            f"{r.peak_mib:.1f}",
            f"{r.p50_ms:.3f}",
            f"{r.p99_ms:.3f}",
        ]
        for r in rows
    ]
    return table(headers, body)


def phases_table(rows: list[dict[str, Any]]) -> str:
    headers = ["phase", "kept MiB", "peak within MiB", "RSS after MiB"]
    body = [
        [r["phase"], f"{r['kept_mib']:.1f}", f"{r['peak_mib']:.1f}", f"{r['rss_mib']:.1f}"]
        for r in rows
    ]
    return table(headers, body, left=1)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(
    quality: list[QualityRow],
    swept: dict[str, Sweep],
    scaling: list[ScaleRow],
    evals: list[EvalRow],
    phases: list[dict[str, Any]],
    count: int,
) -> list[str]:
    out: list[str] = []
    if quality:
        out += [
            "1. Quality",
            "",
            *(
                f"candor {s}: default {Thresholds.measured(s)!r}"
                for s in dict.fromkeys(r.matcher for r in quality if r.matcher in ("off", "static"))
            ),
            "wratio / token_sort: rapidfuzz WRatio / token_sort_ratio of the question against"
            " each article's title and questions",
            "  (default_process); an article scores its best text (its top = process.extractOne's"
            " choice);",
            "  answer if >= T_answer, offer the top 3 if >= T_clarify, else unknown.",
        ]
        for name, sweep in swept.items():
            b = sweep.bounds
            out += [
                f"  {name}: T_answer/T_clarify swept over integers 0..100 on the calibration set"
                f" within wrong <= {pct(b['wrong'])},",
                f"    OOS answered <= {pct(b['oos_answered'])}, OOS refused >="
                f" {pct(b['oos_refused'])}; most right + right-or-offered, ties most OOS refused:",
                f"    T_answer = {sweep.thresholds.answer:.0f}, T_clarify ="
                f" {sweep.thresholds.clarify:.0f} ({sweep.feasible} feasible pairs)",
            ]
        out += [
            "datasets: banking77+OOS = banking77 eval with its 1,000 out-of-scope questions;",
            "  hwu64 = hwu64 eval (no OOS); calibration = hwu64 knowledge asked the hwu64 eval",
            "  plus the first 1,000 banking77 in-scope eval questions relabelled out of scope.",
            "right/wrong/right-or-offered/asked back/1-option menus are fractions of in-scope",
            "questions, OOS columns of out-of-scope ones; top-1/top-3 are ranking accuracy on",
            "in-scope questions; latency is one decision, single thread.",
            "",
            quality_table(quality),
            "",
        ]
    if scaling:
        out += [
            "2. Scaling on synthetic knowledge bases (10 questions an article)",
            "",
            "articles: real banking77+hwu64 intents with 1-2 words of every question swapped"
            f" for pool words (seed {SEED});",
            f"questions: up to {count} new banking77 eval questions (seeded sample, none asked"
            " twice), each timed with perf_counter after a 20-question warm-up; the rapidfuzz"
            f" scan is asked at most {FUZZ_BUDGET:,} texts' worth (at least"
            f" {MIN_FUZZ_QUERIES} questions);",
            "each row a fresh process: RSS articles = before the build; peaks are the"
            " process's high-water RSS (wait4).",
            "",
            scaling_table(scaling),
            "",
        ]
        for n in sorted({r.articles for r in scaling}):
            at = {r.matcher: r for r in scaling if r.articles == n}
            if "wratio" in at:
                out += [
                    f"p99 ratio {k} / rapidfuzz WRatio at {n:,} articles:"
                    f" {at[k].p99_ms / at['wratio'].p99_ms:.4f}"
                    for k in ("off", "static")
                    if k in at
                ]
            if "off" in at and "static" in at:
                out.append(
                    f"p99 ratio static / off at {n:,} articles:"
                    f" {at['static'].p99_ms / at['off'].p99_ms:.2f}"
                )
        out.append("")
    if evals:
        out += [
            "`candor kb eval` on the same articles written as Markdown files (a subprocess;"
            " peak RSS from wait4):",
            "",
            eval_table(evals),
            "",
        ]
        for r in evals:
            if r.articles == 10_000:
                rss = "met" if r.peak_mib <= KB_EVAL_TARGET_MIB else "NOT met"
                p99 = "met" if r.p99_ms <= P99_TARGET_MS else "NOT met"
                out.append(
                    f"targets at 10,000 articles, semantic {r.semantic}: peak RSS <="
                    f" {KB_EVAL_TARGET_MIB:.0f} MiB {rss} ({r.peak_mib:.0f}); decide p99 <="
                    f" {P99_TARGET_MS:.0f} ms {p99} ({r.p99_ms:.2f})"
                )
        out.append("")
    if phases:
        out += [
            "3. Where the build's memory goes (tracemalloc, one phase after another in one"
            " process;",
            "   kept = still allocated after the phase, peak within = its high point over"
            " what was there before)",
            "",
            phases_table(phases),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--sizes", default=None, help=f"articles per synthetic KB ({SIZES})")
    parser.add_argument("--parts", default="quality,scaling,phases")
    parser.add_argument("--matchers", default=DEFAULT_MATCHERS, help="off,static,minilm,wratio")
    parser.add_argument("--quick", action="store_true", help="small sizes and eval subsets")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--worker", choices=(*MATCHERS, "phases"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--queries", type=int, default=QUERIES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    shared = args.shared.resolve()
    if args.worker == "phases":
        print(json.dumps(phases_worker(args.size, shared)))
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.size, shared, args.queries)))
        return 0
    sizes = [int(s) for s in (args.sizes or (QUICK_SIZES if args.quick else SIZES)).split(",")]
    parts = set(args.parts.split(","))
    matchers = [m for m in MATCHERS if m in args.matchers.split(",")]
    semantics = [cast(Semantic, m) for m in matchers if m != "wratio"]
    count = QUICK_QUERIES if args.quick else QUERIES
    command = shlex.join(["python", *sys.argv]) if argv is None else shlex.join(argv)
    versions = {
        "python": platform.python_version(),
        "rapidfuzz": rapidfuzz.__version__,
        "numpy": np.__version__,
    }
    machine = f"{platform.system()} {platform.machine()}, {cpu_name()}, {os.cpu_count()} CPUs"
    load_start = os.getloadavg()[0]

    quality: list[QualityRow] = []
    swept: dict[str, Sweep] = {}
    if "quality" in parts:
        datasets, calibration = load_datasets(shared, args.quick)
        quality, swept = measure_quality(datasets, calibration, semantics, "wratio" in matchers)
    scaling, evals = (
        measure_scaling(shared, sizes, matchers, count) if "scaling" in parts else ([], [])
    )
    phases = measure_phases(shared, min(max(sizes), PHASES_SIZE)) if "phases" in parts else []
    load_end = os.getloadavg()[0]

    if args.json:
        print(
            json.dumps(
                {
                    "command": command,
                    "versions": versions,
                    "machine": machine,
                    "load_average_start_end": [load_start, load_end],
                    "quick": args.quick,
                    "candor_thresholds": {s: asdict(Thresholds.measured(s)) for s in semantics},
                    "baseline_calibration": {k: asdict(v) for k, v in swept.items()},
                    "quality": [
                        {
                            "dataset": r.dataset,
                            "matcher": r.matcher,
                            "top1": r.top1,
                            "top3": r.top3,
                            **r.result,
                        }
                        for r in quality
                    ],
                    "scaling": [asdict(r) for r in scaling],
                    "kb_eval": [asdict(r) for r in evals],
                    "phases": phases,
                },
                ensure_ascii=False,
            )
        )
        return 0
    out = [
        f"command: {command}",
        f"python {versions['python']}, rapidfuzz {versions['rapidfuzz']},"
        f" numpy {versions['numpy']}",
        f"machine: {machine}",
        f"load average (1 min) at start / end: {load_start:.2f} / {load_end:.2f}"
        " (other processes on the machine inflate p99 and max)",
        *(
            ["(--quick: every 5th evaluation question, 200 questions per size)"]
            if args.quick
            else []
        ),
        "",
        *report(quality, swept, scaling, evals, phases, count),
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
