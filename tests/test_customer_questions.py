"""The shipped knowledge base against questions written the way customers write
to support: long with context, typos, lower case, two asks in one, indirect,
frustrated, one word, with greetings. Two sets:

- tests/data/customer_questions.jsonl, the development set: the matcher's and the
  articles' changes for issue 17 were looked at against it;
- tests/data/customer_questions_holdout.jsonl, the held-out set: written from the
  article bodies by someone who saw neither the development set nor the changes,
  before any matcher ran on it, without the questions (nearly) the same as an
  article's question or a question of the other sets. It tells whether a change
  generalises.

The figures asserted are what the matcher measures there today (a regression
guard: any change that lowers one must say why). Issue 17 holds the default
install to higher floors, not met yet: answered right >= 85 %, asked back <= 15 %,
wrong <= 2 %, out of scope answered <= 10 % (benchmarks/RESULTS.md has the figures
and why)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from bot.knowledge import KnowledgeBase, Thresholds
from bot.knowledge.tools import accepted, evaluate, read_eval, summary

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
QUESTIONS = ROOT / "tests" / "data" / "customer_questions.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "customer_questions_holdout.jsonl"
OLDER = ROOT / "tests" / "data" / "knowledge_eval.jsonl"

# measured with `candor kb eval tests/data/FILE.jsonl --knowledge knowledge`, words only
# (semantic = "off"), default thresholds, with the articles' questions written the way
# customers ask, two asks in one (a part answered only if it asks itself) and customers'
# spellings (no real word corrected into another) (issue 17):
#   development: 154 of 294 right, 0 wrong, 136 asked back (24 with one option), 0 of 33
#     out of scope answered (at 5dbe8d2: 83 right, 3 wrong, 195 asked back, 48 one-option)
#   held out: 136 of 298 right, 3 wrong, 151 asked back (22 with one option), 1 of 33 out
#     of scope answered (on its first 365 at 21edd81, before the articles and the matcher
#     changed: 26.9 % right, 1.2 % wrong, 65.7 % asked back)
#   with the second opinion (bot/knowledge/learned.py, session 9; thresholds re-chosen on
#   the calibration set: answer_margin 0.14, learned_probability 0.30):
#   development: 172 right, 3 wrong, 115 asked back (24 one-option), 0 of 33 OOS answered
#   held out: 151 right, 3 wrong, 136 asked back (22 one-option), 3 of 33 OOS answered
#   ("how much does Asana cost", "how do I cancel my Microsoft 365 subscription", "is the
#   free trial of Jira 7 or 30 days": another product's, in the articles' words)
FIGURES = {
    QUESTIONS.name: {
        "answered_correct": 0.585,  # at least
        "right_or_offered": 0.95,  # at least
        "answered_wrong": 0.011,  # at most
        "asked_back": 0.40,  # at most
        "one_option_menus": 0.082,  # at most
        "oos_answered": 0.0,  # at most
    },
    HOLDOUT.name: {
        "answered_correct": 0.506,
        "right_or_offered": 0.91,
        "answered_wrong": 0.011,
        "asked_back": 0.47,
        "one_option_menus": 0.074,
        "oos_answered": 0.091,
    },
}
AT_LEAST = {"answered_correct", "right_or_offered"}
# the words-only defaults before the second opinion (session 8), the bound the fused
# modes' defaults were chosen within; the default now answers more rightly than either
# fused mode on the shipped sets (benchmarks/RESULTS.md)
WORDS_BEFORE = Thresholds(answer_margin=0.10, learned_probability=1.0)
SETS = [QUESTIONS, HOLDOUT]
LEAST_PER_ARTICLE = {QUESTIONS.name: 4, HOLDOUT.name: 3}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    kb = KnowledgeBase.load(KNOWLEDGE, Thresholds())
    assert kb.problems == []
    return kb


@pytest.fixture(scope="module")
def figures(kb: KnowledgeBase) -> dict[str, dict[str, float]]:
    return {path.name: summary(evaluate(kb, read_eval(path), progress=False)) for path in SETS}


@pytest.mark.parametrize("path", SETS, ids=[p.stem for p in SETS])
def test_the_set_is_big_spread_over_every_article_and_weighted_to_what_is_asked_most(
    kb: KnowledgeBase, path: Path
) -> None:
    pairs = read_eval(path)
    assert len(pairs) >= 200
    assert sum(1 for _, expected in pairs if expected is None) >= 25
    assert len({text for text, _ in pairs}) == len(pairs), "a question is in twice"
    labels = {a for _, expected in pairs for a in accepted(expected)}
    assert labels <= {a.id for a in kb.articles()}
    best = Counter(accepted(expected)[0] for _, expected in pairs if expected is not None)
    least = LEAST_PER_ARTICLE[path.name]
    thin = sorted(a.id for a in kb.articles() if best[a.id] < least)
    assert thin == [], "every article needs questions"
    for most_asked in ("pricing-plans", "free-trial", "cancellation", "invoices"):
        assert best[most_asked] >= 12, most_asked
    assert sum(1 for _, expected in pairs if isinstance(expected, tuple)) >= 30  # two asks


def test_no_question_is_an_articles_own_question_or_another_sets(kb: KnowledgeBase) -> None:
    """Written afresh: not copied or reworded from the articles' `questions` (what
    the matcher indexes), and no set holds another's question (the held-out set
    must be questions the tuning never saw)."""
    own = [q.casefold() for a in kb.articles() for q in a.questions]
    texts = {path: [t.casefold() for t, _ in read_eval(path)] for path in [*SETS, OLDER]}
    close = []
    for path in SETS:
        others = own + [t for other, found in texts.items() if other != path for t in found]
        close += [
            (path.name, text, other)
            for text in texts[path]
            for other in others
            if fuzz.token_sort_ratio(text, other) >= 90
        ]
    assert close == []


@pytest.mark.parametrize(
    ("name", "figure"),
    [(path.name, figure) for path in SETS for figure in sorted(FIGURES[path.name])],
)
def test_todays_matcher_holds_its_measured_figures(
    figures: dict[str, dict[str, float]], name: str, figure: str
) -> None:
    bound = FIGURES[name][figure]
    if figure in AT_LEAST:
        assert figures[name][figure] >= bound, figures[name]
    else:
        assert figures[name][figure] <= bound, figures[name]


@pytest.mark.parametrize("path", [QUESTIONS, OLDER], ids=["customer_questions", "knowledge_eval"])
def test_meaning_fused_in_is_no_riskier_than_words_alone(path: Path) -> None:
    """semantic = "static" with its measured defaults against words alone with the
    defaults its own were chosen beside (WORDS_BEFORE), on both shipped sets: no more
    wrong answers, no more out-of-scope questions answered, no fewer right answers, no
    more asking back. (The plain
    fusion answered "Do you support 2FA?" with the support-hours article.)"""
    pairs = read_eval(path)
    figures = {
        "off": summary(
            evaluate(KnowledgeBase.load(KNOWLEDGE, WORDS_BEFORE), pairs, progress=False)
        ),
        "static": summary(
            evaluate(KnowledgeBase.load(KNOWLEDGE, semantic="static"), pairs, progress=False)
        ),
    }
    words, fused = figures["off"], figures["static"]
    assert fused["answered_wrong"] <= words["answered_wrong"], figures
    assert fused["oos_answered"] <= words["oos_answered"], figures
    assert fused["answered_correct"] >= words["answered_correct"], figures
    assert fused["asked_back"] <= words["asked_back"], figures
