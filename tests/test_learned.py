"""The second opinion (bot/knowledge/learned.py): a classifier trained on the
articles' questions, which turns a menu into an answer only when it puts the
matcher's best article first too."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.config import KnowledgeSettings
from bot.knowledge import KnowledgeBase, Thresholds, learned
from bot.knowledge.articles import Article
from bot.knowledge.learned import Learned, fitted, spelt
from bot.knowledge.tools import kb_ask, read_eval

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SETS = [ROOT / "tests" / "data" / n for n in ("customer_questions.jsonl", "knowledge_eval.jsonl")]
OFF = Thresholds(learned_probability=1.0)  # the words-only decision alone


def art(id: str, questions: list[str]) -> Article:
    return Article(id=id, title=id.title(), questions=tuple(questions), tags=(), body="Text.")


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.load(KNOWLEDGE)


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("if we leave northwind can we take our data with us", "data-export"),
        ("will you remind me before the trial ends", "free-trial"),
        ("how do i move from team to business", "upgrade-downgrade"),
    ],
)
def test_a_menu_both_opinions_agree_on_becomes_the_answer(
    shipped: KnowledgeBase, question: str, article: str
) -> None:
    alone = KnowledgeBase.load(KNOWLEDGE, OFF).decide(question)
    assert alone.kind == "clarify"  # its words score enough, but lead too little
    assert alone.candidates[0].article.id == article
    decision = shipped.decide(question)
    assert decision.kind == "answer" and decision.second_opinion
    assert decision.candidates[0].article.id == article
    opinion = shipped.opinion(question)
    assert opinion is not None and opinion.article == article


@pytest.mark.parametrize("path", SETS, ids=[p.stem for p in SETS])
def test_the_second_opinion_answers_only_what_both_put_first(
    shipped: KnowledgeBase, path: Path
) -> None:
    """Every answer the second opinion adds (the words-only rule would have offered a
    menu or a part of the question) is the matcher's best and the classifier's
    likeliest, past both thresholds; and it adds some."""
    t = shipped.thresholds
    alone = KnowledgeBase.load(KNOWLEDGE, OFF)
    added = 0
    for text, _ in read_eval(path):
        decision = shipped.decide(text)
        if decision.kind != "answer" or alone.decide(text).kind == "answer":
            continue
        asked = decision.asked or text
        best = shipped.rank(asked, 1)[0]
        opinion = shipped.opinion(asked)
        assert opinion is not None, text
        assert decision.candidates[0].article.id == best.article.id == opinion.article, text
        assert opinion.probability >= t.learned_probability, text
        assert best.score >= t.answer_score, text  # it stands in for the lead only
        added += 1
    assert added >= 10


def test_the_same_articles_give_the_same_model_once() -> None:
    articles = [art("a", ["how much is it", "price"]), art("b", ["cancel my plan", "stop"])]
    first = Learned.train(articles)
    assert first is not None
    assert Learned.train(list(articles)) is first  # reused, not trained again
    changed = [articles[0], art("b", ["cancel my plan", "quit"])]
    assert Learned.train(changed) is not first
    opinion = first.opinion("how much is the price")
    assert opinion is not None and opinion.article == "a"
    assert 0.5 < opinion.probability <= 1
    assert sum(p for _, p in opinion.likeliest) == pytest.approx(1.0)


def test_no_classifier_for_one_article_or_for_more_than_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Learned.train([art("a", ["how much is it"])]) is None
    monkeypatch.setattr(learned, "MAX_ARTICLES", 2)
    articles = [art(n, [f"question about {n}"]) for n in ("alpha", "beta", "gamma")]
    assert Learned.train(articles) is None
    kb = KnowledgeBase.of(articles)
    assert kb.opinion("question about beta") is None
    decision = kb.decide("question about beta")  # the matcher alone decides
    assert decision.candidates[0].article.id == "beta"
    assert all(c.learned is None for c in kb.rank("question about beta"))


@pytest.mark.parametrize(
    "text",
    ["", "🙂🙂", "a" * 100_000, "مرحبا كم السعر", "\u202eesrever\u202c", "x\x00y", "( ( ( (" * 500],
)
def test_odd_questions_get_an_opinion_or_none_never_an_error(
    shipped: KnowledgeBase, text: str
) -> None:
    opinion = shipped.opinion(text)
    assert opinion is None or 0 <= opinion.probability <= 1
    assert shipped.decide(text).kind in ("answer", "clarify", "unknown")


def test_thresholds_of_the_second_opinion_are_checked_and_configurable() -> None:
    with pytest.raises(ValueError, match="learned_probability"):
        Thresholds(learned_probability=1.5)
    with pytest.raises(ValueError):
        KnowledgeSettings(learned_probability=-0.1)
    chosen = KnowledgeSettings(learned_probability=0.7).thresholds()
    assert chosen["learned_probability"] == 0.7
    assert Thresholds.measured("off", **chosen).learned_probability == 0.7


def test_kb_ask_shows_the_second_opinion(shipped: KnowledgeBase) -> None:
    out = io.StringIO()
    kb_ask(shipped, "will you remind me before the trial ends", as_json=False, out=out)
    text = out.getvalue()
    assert "classifier's first: free-trial" in text
    assert "classifier 0." in text  # each candidate's probability
    out = io.StringIO()
    kb_ask(shipped, "will you remind me before the trial ends", as_json=True, out=out)
    payload = json.loads(out.getvalue())
    assert payload["learned"][0]["article"] == "free-trial"
    assert payload["thresholds"]["learned_probability"] == shipped.thresholds.learned_probability
    assert payload["candidates"][0]["learned"] is not None


def test_asking_gives_what_scikit_learn_would(shipped: KnowledgeBase) -> None:
    """The opinion is computed without scikit-learn's pipeline: the same
    probabilities as its transform and predict_proba, for two articles and many."""
    from scipy.sparse import hstack

    for articles in (shipped.articles(), shipped.articles()[:2]):
        vectorizers, model, examples = fitted(articles)
        made = Learned(vectorizers, model, examples)
        for text in ["how much is the team plan", "cancel", "Kann ich kündigen?", "x y z"]:
            got = made.opinion(text)
            features = hstack([v.transform([spelt(text)]) for v in vectorizers]).tocsr()
            if features.nnz == 0:
                assert got is None
                continue
            expected = model.predict_proba(features)[0]
            assert got is not None
            for article, probability in got.likeliest:
                index = list(model.classes_).index(article)
                assert probability == pytest.approx(float(expected[index]), rel=1e-4)
            assert got.article == model.classes_[expected.argmax()]
