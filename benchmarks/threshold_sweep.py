"""Choose the matcher's thresholds on the calibration set, for each `semantic` mode.

Each question is ranked once per mode; the three-way decision (answer, clarify,
unknown, bot/knowledge/base.py) is then replayed for every threshold triple on a grid,
in numpy. The rule: on the calibration set of benchmarks/RESULTS.md (HWU64's knowledge
base and questions, 1,000 BANKING77 questions as out of scope), no more risk than the
words-only matcher with its defaults took there: answered wrong, out-of-scope answered
no higher and out-of-scope refused no lower than its figures (RESULTS.md's bounds of 5%
and 10% hold a fortiori). Among those, the most right answers plus right-or-offered (a
right answer counts twice, a menu holding the right article once: "most right-or-offered"
alone, RESULTS.md's rule for the baseline, puts a menu in front of every question), ties
broken by most out-of-scope refused. The fused matcher answers only a winner that
words alone single out (base.py's `words_margin`, `words_score`: the words-only
defaults, not swept unless --words-margins lists values), and the replay holds to that.
The chosen triple is then applied, unchanged, to BANKING77 with its out-of-scope
questions and to HWU64.

    .venv/bin/python benchmarks/threshold_sweep.py [--shared ../shared/benchmarks]

The fusion's own two numbers (bot/knowledge/matcher.py's W_SEMANTIC and MEANING_FLOOR;
W_MINILM and MINILM_FLOOR for semantic = "minilm", the optional extra: --modes minilm)
are swept with the thresholds (--weights, --floors): the pair whose chosen thresholds
give the most right plus right-or-offered on the calibration set wins, per mode. About
4 minutes for static; minilm runs the model once per distinct text (its vectors are
kept for the whole sweep), about 15 minutes.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from knowledge_bench import Dataset, load_datasets

from bot.knowledge import KnowledgeBase, Thresholds, matcher
from bot.knowledge.matcher import Semantic

FUSED_MODES: tuple[Semantic, ...] = ("static", "minilm")

WORDS = Thresholds()  # words_margin and words_score: base.py's rule, not swept by default
SPREAD = Thresholds().clarify_spread
OPTIONS = Thresholds().max_options
GRID = np.round(np.arange(0.0, 0.81, 0.02), 2)
MARGINS = np.round(np.arange(0.0, 0.31, 0.02), 2)


Ranked = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
LEARNED_PROBABILITIES = np.round(np.arange(0.3, 1.01, 0.05), 2)
NO_LEARNING = 1.01  # a second opinion that never answers
# The risk every choice is held to: the words-only matcher with its defaults before
# the second opinion (answer_score, answer_margin, clarify_score of session 8). The
# defaults chosen since within it are `words_only` below.
BOUND = (0.40, 0.10, 0.20)


def ranked(dataset: Dataset, semantic: Semantic) -> Ranked:
    """scores [q, OPTIONS+1], hit [q, OPTIONS+1] (the expected article), oos [q],
    words [q] (with meaning fused in, whether words alone single the best out, and
    whether they alone would answer it: base.py's rule; None when semantic is off),
    learned [q] (the classifier's probability when it puts the same article first as
    the matcher, else 0: base.py's second opinion)."""
    # a classifier is trained only when the second opinion may decide (base.py)
    trained = Thresholds.measured(semantic, learned_probability=0.0)
    kb = KnowledgeBase.of(dataset.articles, trained, semantic)
    width = OPTIONS + 1
    scores = np.zeros((len(dataset.pairs), width))
    hits = np.zeros((len(dataset.pairs), width), dtype=bool)
    oos = np.zeros(len(dataset.pairs), dtype=bool)
    words = np.zeros((len(dataset.pairs), 2))  # lead on words, lexical score (see replay)
    learned = np.zeros(len(dataset.pairs))
    for q, (text, expected) in enumerate(dataset.pairs):
        oos[q] = expected is None
        for k, c in enumerate(kb.rank(text, width)):
            scores[q, k] = c.score
            hits[q, k] = c.article.id == expected
            if k == 0:
                fused = c.semantic is not None  # words alone decide a words-only matcher
                words[q] = (c.words_lead, c.lexical) if fused else (np.inf, -np.inf)
                opinion = kb.opinion(text)
                if (
                    opinion is not None
                    and opinion.article == c.article.id
                    and kb.knows_well(c.article.id)
                ):
                    learned[q] = opinion.probability
    return scores, hits, oos, words, learned


def replay(
    data: Ranked,
    answer: float,
    margin: float,
    clarify: float,
    words_margin: float = WORDS.words_margin,
    learned_probability: float = NO_LEARNING,
) -> dict[str, float]:
    scores, hits, oos, words, learned = data
    best, second = scores[:, 0], scores[:, 1]
    unknown = best < clarify
    seconded = learned >= learned_probability  # base.py: it stands in for the lead
    clear = (best >= answer) & ((best - second >= margin) | seconded)
    words_clear = (words[:, 0] >= words_margin) | seconded
    answered = ~unknown & words_clear & (clear | (words[:, 1] >= WORDS.words_score))
    floor = np.maximum(clarify, best - SPREAD)[:, None]
    offered = (scores[:, :OPTIONS] >= floor) & (scores[:, :OPTIONS] > 0)
    right_offered = (hits[:, :OPTIONS] & offered).any(axis=1)
    ins = ~oos
    n_in, n_oos = max(1, int(ins.sum())), max(1, int(oos.sum()))
    clarified = ~unknown & ~answered
    return {
        "right": float((answered & hits[:, 0] & ins).sum()) / n_in,
        "wrong": float((answered & ~hits[:, 0] & ins).sum()) / n_in,
        "right_or_offered": float(
            ((answered & hits[:, 0]) | (clarified & right_offered))[ins].sum()
        )
        / n_in,
        "asked_back": float((clarified & ins).sum()) / n_in,
        "oos_answered": float((answered & oos).sum()) / n_oos,
        "oos_refused": float((unknown & oos).sum()) / n_oos,
    }


def choose(
    data: Ranked, bound: dict[str, float], words_margins: list[float], learned: bool = False
) -> tuple[tuple[float, ...], Any]:
    """With `learned`, the second opinion's `learned_probability` is swept with the
    others (over a coarser grid of `clarify_score`: it only tells "I don't know" from a
    menu)."""
    best: tuple[Any, ...] | None = None
    seconds = LEARNED_PROBABILITIES if learned else [NO_LEARNING]
    clarifies = GRID[(GRID >= 0.1) & (GRID <= 0.3)] if learned else GRID
    for words_margin, answer, margin, clarify, probability in itertools.product(
        words_margins, GRID, MARGINS, clarifies, seconds
    ):
        if clarify > answer:
            continue
        m = replay(data, answer, margin, clarify, words_margin, probability)
        if (
            m["wrong"] > bound["wrong"]
            or m["oos_answered"] > bound["oos_answered"]
            or m["oos_refused"] < bound["oos_refused"]
        ):
            continue
        key = (round(m["right"] + m["right_or_offered"], 3), m["oos_refused"])
        if best is None or key > best[0]:
            chosen = (float(answer), float(margin), float(clarify), float(words_margin))
            if learned:
                chosen += (float(probability),)
            best = (key, chosen, m)
    assert best is not None, "no feasible thresholds"
    return best[1], best[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=Path("../shared/benchmarks"))
    parser.add_argument("--modes", default="off,static")
    parser.add_argument("--weights", default="0.2,0.3,0.4,0.5", help="W_SEMANTIC values")
    parser.add_argument("--floors", default="0.2,0.3,0.35,0.4", help="MEANING_FLOOR values")
    parser.add_argument(
        "--words-margins",
        default=str(WORDS.words_margin),
        help="words_margin values for the fused modes (default: base.py's, not swept)",
    )
    parser.add_argument(
        "--learned",
        action="store_true",
        help="sweep the second opinion's learned_probability too",
    )
    args = parser.parse_args()
    datasets, calibration = load_datasets(args.shared, quick=False)
    default = Thresholds.measured("off")
    modes = args.modes.split(",")
    variants: list[tuple[Semantic, float, float]] = [("off", 0.0, 0.0)] if "off" in modes else []
    variants += [
        (mode, float(w), float(f))
        for mode in FUSED_MODES
        if mode in modes
        for w in args.weights.split(",")
        for f in args.floors.split(",")
    ]
    if "minilm" in modes:
        keep_vectors()
    words_only = (default.answer_score, default.answer_margin, default.clarify_score)
    if args.learned:
        words_only += (default.words_margin, default.learned_probability)
    matcher.W_SEMANTIC = 0.0
    bound = replay(ranked(calibration, "off"), *BOUND)
    print("bounds (words only, its defaults before the second opinion, on calibration):", bound)
    overall: dict[str, tuple[float, float, float, tuple[float, ...]]] = {}
    for mode, weight, floor in variants:
        matcher.W_SEMANTIC, matcher.MEANING_FLOOR = weight, floor
        matcher.W_MINILM, matcher.MINILM_FLOOR = weight, floor
        data = {d.name: ranked(d, mode) for d in datasets}
        margins = [float(m) for m in args.words_margins.split(",")] if mode != "off" else [0.1]
        chosen, figures = choose(data[calibration.name], bound, margins, args.learned)
        key = figures["right"] + figures["right_or_offered"]
        if mode != "off" and (mode not in overall or key > overall[mode][0] + 1e-9):
            overall[mode] = (key, weight, floor, chosen)
        print(
            f"semantic={mode} weight={weight} floor={floor}:"
            " chosen answer/margin/clarify/words_margin"
            + ("/learned_probability =" if args.learned else " =")
        )
        print(f"  {chosen} on calibration")
        for label, triple in (
            ("default", words_only),
            ("chosen", chosen),
        ):
            for d in datasets:
                m = replay(data[d.name], *triple)
                row = "  ".join(f"{k} {v:6.1%}" for k, v in m.items())
                print(f"  {label:7} {d.name:14} {row}")
    for mode, (_, weight, floor, chosen) in overall.items():
        names = "W_MINILM, MINILM_FLOOR" if mode == "minilm" else "W_SEMANTIC, MEANING_FLOOR"
        print(f"chosen for {mode}: {names} = {weight}, {floor}, answer/margin/clarify/words_margin")
        print(f"  = {chosen} (most right + right-or-offered on calibration within the bounds)")
    return 0


def keep_vectors() -> None:
    """Run MiniLM once per distinct text for the whole sweep: the matcher is built
    and asked again for every weight and floor, and the vectors do not change."""
    from bot.knowledge.minilm import MiniLMEncoder

    encoder = MiniLMEncoder.shipped()
    kept: dict[str, np.ndarray] = {}
    run_many = encoder.encode_many

    def encode(text: str) -> np.ndarray:
        if text not in kept:
            kept[text] = run_many([text])[0]
        return kept[text]

    def encode_many(texts: list[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in kept]
        if new:
            kept.update(zip(new, run_many(new), strict=True))
        return np.stack([kept[t] for t in texts]) if texts else run_many(texts)

    encoder.encode = encode  # type: ignore[method-assign]
    encoder.encode_many = encode_many  # type: ignore[method-assign]


if __name__ == "__main__":
    raise SystemExit(main())
