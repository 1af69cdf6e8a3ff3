"""The matcher's index built in slices of articles (bot/knowledge/index.py): the
rankings are those of a build in one slice, whatever the slice size (issue 17,
"Memory"). How much memory a build takes is measured in benchmarks/, not here."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.knowledge import Article, load_articles
from bot.knowledge.matcher import Matcher, Scored, Semantic
from bot.knowledge.tools import read_eval

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SLICES = (1, 2, 7)  # the shipped base has 38 articles: 38, 19 and 6 slices


@pytest.fixture(scope="module")
def shipped() -> list[Article]:
    articles, problems = load_articles(ROOT / "knowledge")
    assert not [p for p in problems if p.severity == "error"]
    assert len(articles) > max(SLICES)
    return articles


@pytest.fixture(scope="module")
def questions() -> list[str]:
    """Every question of the shipped evaluation sets, in and out of scope (not the
    recorded handover conversations, which are another format)."""
    sets = [*DATA.glob("customer_questions*.jsonl"), DATA / "knowledge_eval.jsonl"]
    found = [text for path in sorted(sets) for text, _ in read_eval(path)]
    assert len(found) > 500
    return found


def rankings(matcher: Matcher, texts: list[str]) -> list[list[Scored]]:
    return [matcher.rank(text, 8) for text in texts]


def assert_same(got: list[list[Scored]], want: list[list[Scored]]) -> None:
    for mine, theirs in zip(got, want, strict=True):
        assert [s.index for s in mine] == [s.index for s in theirs]
        for a, b in zip(mine, theirs, strict=True):
            for part in ("score", "coverage", "shape", "closeness", "lexical", "words_lead"):
                assert getattr(a, part) == pytest.approx(getattr(b, part), abs=1e-6), part
            assert (a.semantic is None) == (b.semantic is None)
            if a.semantic is not None and b.semantic is not None:
                assert a.semantic == pytest.approx(b.semantic, abs=1e-6)
            assert (a.matched, a.question) == (b.matched, b.question)


@pytest.mark.parametrize("semantic", ["off", "static"])
def test_a_build_in_slices_ranks_the_shipped_questions_as_a_build_in_one(
    shipped: list[Article], questions: list[str], semantic: Semantic
) -> None:
    whole = rankings(Matcher(shipped, semantic, slice_size=len(shipped)), questions)
    assert sum(1 for r in whole if r) > len(questions) * 0.9  # most questions find articles
    for size in SLICES:
        assert_same(rankings(Matcher(shipped, semantic, slice_size=size), questions), whole)


def art(id: str, title: str, questions: tuple[str, ...], tags: tuple[str, ...] = ()) -> Article:
    return Article(id=id, title=title, questions=questions, tags=tags, body="An answer.")


ODD = [
    art("plain", "Prices", ("What does it cost?", "price of a plan")),
    art("no-questions", "Opening hours", ()),
    art("stopwords-only", "What is it", ("is it what it is", "the the the")),
    art("digits", "2024 2FA", ("42", "v2 api 3.1"), ("2fa",)),
    art("unicode", "Café naïve Ünïcödé", ("Straße 日本語 ﬁle", "résumé ÉTÉ")),
    art("no-words", "???", ("!!!", "…")),
    art("repeats", "refund refund refund", ("refund refund", "refunds refunded refunding")),
    art("long", "A very long question " * 20, ("word " * 300,), ("long", "tag")),
]
ODD_QUESTIONS = [
    "how much does a plan cost",
    "when are you open",
    "what is it",
    "2fa",
    "cafe",
    "日本語",
    "refund",
    "???",
    "a very long question about words",
    "prise of plans",
]


def test_odd_articles_rank_the_same_in_any_slice_size() -> None:
    whole = rankings(Matcher(ODD, slice_size=len(ODD)), ODD_QUESTIONS)
    assert any(r for r in whole)
    for size in (1, 3, 5, 100):
        assert_same(rankings(Matcher(ODD, slice_size=size), ODD_QUESTIONS), whole)


def test_an_empty_knowledge_base_builds_and_ranks_nothing() -> None:
    assert Matcher([], slice_size=1).rank("anything") == []


def test_a_slice_size_below_one_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="slice_size"):
        Matcher(ODD, slice_size=0)


words_of_articles = st.text(
    alphabet=st.characters(categories=["L", "N", "P", "Zs"]), min_size=0, max_size=30
)


@st.composite
def knowledge(draw: st.DrawFn) -> list[Article]:
    count = draw(st.integers(min_value=1, max_value=9))
    return [
        Article(
            f"a{i}",
            draw(words_of_articles),
            tuple(draw(st.lists(words_of_articles, max_size=3))),
            tuple(draw(st.lists(words_of_articles, max_size=2))),
            "An answer.",
        )
        for i in range(count)
    ]


@settings(max_examples=60, deadline=None)
@given(knowledge(), st.lists(words_of_articles, min_size=1, max_size=3), st.integers(1, 4))
def test_any_knowledge_base_ranks_the_same_in_slices(
    found: list[Article], texts: list[str], size: int
) -> None:
    # its own texts too, so that some questions share words with the articles
    asked = [*texts, *(a.title for a in found), *(q for a in found for q in a.questions)]
    whole = rankings(Matcher(found, slice_size=len(found)), asked)
    assert_same(rankings(Matcher(found, slice_size=size), asked), whole)
