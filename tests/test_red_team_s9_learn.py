"""Red team, session 9: the matcher's second opinion (bot/knowledge/learned.py and
its use in base.py). Each test is a finding, or a guard a finding's fix needed."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import pytest

from bot.app import Candor
from bot.config import Config
from bot.knowledge import KnowledgeBase, Thresholds, learned
from bot.knowledge.articles import Article
from bot.knowledge.learned import Learned
from bot.knowledge.tools import read_eval

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
OFF = Thresholds(learned_probability=1.0)


def art(id: str, title: str, questions: list[str], tags: list[str] | None = None) -> Article:
    return Article(id, title, tuple(questions), tuple(tags or ()), body="Text.")


@pytest.fixture(scope="module")
def shipped() -> KnowledgeBase:
    return KnowledgeBase.load(KNOWLEDGE)


# finding 1: articles scikit-learn cannot learn took the knowledge base down


@pytest.mark.parametrize(
    "articles",
    [
        # no word of two letters anywhere: the word vectorizer's vocabulary is empty
        [art("a", "A", []), art("b", "B", [])],
        [art("a", "?", ["!"]), art("b", "-", ["."])],
        # one id for both (KnowledgeBase.of does not check): one class to learn
        [art("a", "Price", ["how much is it"]), art("a", "Cancel", ["cancel it"])],
    ],
    ids=["one-letter-titles", "punctuation-only", "same-id"],
)
def test_articles_the_classifier_cannot_learn_leave_the_matcher_deciding(
    articles: list[Article],
) -> None:
    assert Learned.train(articles) is None
    kb = KnowledgeBase.of(articles)
    assert kb.opinion("how much") is None
    assert kb.decide("how much is it").kind in ("answer", "clarify", "unknown")


def test_a_folder_of_such_articles_loads(tmp_path: Path) -> None:
    for name, title in (("a", "?"), ("b", "!")):
        (tmp_path / f"{name}.md").write_text(f'+++\ntitle = "{title}"\n+++\nText.\n')
    kb = KnowledgeBase.load(tmp_path)
    assert sorted(a.id for a in kb.articles()) == ["a", "b"]
    assert kb.decide("?").kind in ("answer", "clarify", "unknown")


# finding 2: the process-wide cache's key was ambiguous: a stale model for other texts


def test_different_articles_never_share_a_kept_model() -> None:
    qs = [f"how do i reach question {n}" for n in range(8)]
    pairs = [
        # a NUL in a title read as the end of the title and a question
        (
            [art("a", "x\0how much", qs), art("b", "Cancel", qs)],
            [art("a", "x", ["how much", *qs]), art("b", "Cancel", qs)],
        ),
        # a question moved to the tags
        (
            [art("a", "Price", [*qs, "cost"]), art("b", "Cancel", qs)],
            [art("a", "Price", qs, ["cost"]), art("b", "Cancel", qs)],
        ),
    ]
    for first, second in pairs:
        one, other = Learned.train(first), Learned.train(second)
        assert one is not None and other is not None
        assert one is not other


# finding 3: a second opinion's answer to a question asking two things dropped the other


@pytest.mark.parametrize(
    ("question", "answered", "offered"),
    [
        (
            "can I cancel and also get my money back for the rest of the year",
            "refunds",
            "cancellation",
        ),
        (
            "downgraded from business to team, do I get a partial refund?",
            "upgrade-downgrade",
            "refunds",
        ),
        (
            "what happens after I pay, do we get onboarding?",
            "onboarding-migration",
            "buying-process",
        ),
    ],
)
def test_a_second_opinion_answer_still_offers_the_other_ask(
    shipped: KnowledgeBase, question: str, answered: str, offered: str
) -> None:
    alone = KnowledgeBase.load(KNOWLEDGE, OFF).decide(question)
    assert alone.kind == "clarify"  # words alone: a menu naming both
    assert {answered, offered} <= {c.article.id for c in alone.candidates}
    decision = shipped.decide(question)
    assert decision.kind == "answer" and decision.second_opinion
    assert decision.candidates[0].article.id == answered
    assert offered in [c.article.id for c in decision.also]
    assert decision.also_asked


def test_every_second_opinion_answer_offers_what_the_menu_offered_for_another_ask(
    shipped: KnowledgeBase,
) -> None:
    """On the shipped sets: where a second opinion answers a question the words alone
    met with a menu, and another ask of it is answered on its own with an article of
    that menu, that article is offered with the answer."""
    from bot.knowledge.asks import asks

    alone = KnowledgeBase.load(KNOWLEDGE, OFF)
    checked = 0
    for name in ("customer_questions.jsonl", "customer_questions_holdout.jsonl"):
        for text, _ in read_eval(ROOT / "tests" / "data" / name):
            decision = shipped.decide(text)
            if not decision.second_opinion:
                continue
            menu = {c.article.id for c in alone.decide(text).candidates}
            best = decision.candidates[0].article.id
            for ask in asks(text):
                own = shipped.decide(ask.text)
                other = own.candidates[0].article.id if own.kind == "answer" else None
                if ask.question and other in menu - {best}:
                    assert other in {c.article.id for c in decision.also}, text
                    checked += 1
    assert checked >= 3


# guards: the cache (finding 4's fix keeps fewer models) and determinism


def test_a_model_in_use_is_reused_and_an_unused_one_is_let_go() -> None:
    qs = [f"a question about the topic number {n}" for n in range(8)]
    articles = [art("a", "Alpha", qs), art("b", "Beta", [q + " beta" for q in qs])]
    kb = KnowledgeBase.of(articles)
    assert Learned.train(list(articles)) is kb._learned  # the running one, reloaded
    dropped = []
    for n in range(learned.KEPT + 3):  # other knowledge bases trained and dropped
        others = [art("a", f"Alpha {n}", qs), art("b", f"Beta {n}", qs)]
        model = Learned.train(others)
        assert model is not None
        dropped.append(weakref.ref(model))
        del model
    gc.collect()
    assert Learned.train(list(articles)) is kb._learned  # still in use: still reused
    assert len(learned._trained) <= learned.KEPT
    assert sum(r() is not None for r in dropped) <= learned.KEPT  # the rest let go


def test_training_the_same_articles_in_threads_gives_one_answer() -> None:
    qs = [f"threaded question {n} about prices" for n in range(8)]
    articles = [art("p", "Prices", qs), art("c", "Cancel", [f"cancel {n}" for n in range(8)])]
    got: list[Learned | None] = []
    threads = [threading.Thread(target=lambda: got.append(Learned.train(articles))) for _ in "abcd"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g is not None for g in got)
    opinions = {g.opinion("how much are prices") for g in got if g is not None}
    assert len(opinions) == 1


_DECIDE = """
import json, sys
from pathlib import Path
from bot.knowledge import KnowledgeBase
from bot.knowledge.tools import read_eval
kb = KnowledgeBase.load(Path(sys.argv[1]))
out = []
for text, _ in read_eval(Path(sys.argv[2]))[:120]:
    d = kb.decide(text)
    o = kb.opinion(text)
    out.append([d.kind, [c.article.id for c in d.candidates], d.second_opinion,
                None if o is None else [[a, round(p, 6)] for a, p in o.likeliest]])
print(json.dumps(out))
"""


def test_the_same_articles_decide_the_same_in_two_processes() -> None:
    """A seeded model and sorted vocabularies: two processes (different hash seeds)
    make the same decisions and the same opinions."""
    data = ROOT / "tests" / "data" / "customer_questions_holdout.jsonl"
    runs = [
        subprocess.run(
            [sys.executable, "-c", _DECIDE, str(KNOWLEDGE), str(data)],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            cwd=ROOT,
        ).stdout
        for seed in ("1", "2")
    ]
    first, second = (json.loads(r) for r in runs)
    assert first == second
    assert any(row[2] for row in first)  # the second opinion had a say


# finding 5: with the second opinion off (learned_probability 1, the fused modes'
# default) a classifier was still trained at every load and asked at every question


def test_no_classifier_is_trained_or_asked_when_the_second_opinion_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("trained though the second opinion is off")

    monkeypatch.setattr(Learned, "_fit", classmethod(refuse))
    qs = [f"how much does plan {n} cost per seat" for n in range(8)]
    articles = [art("price", "Prices", qs), art("seats", "Seats", [q + " extra" for q in qs])]
    kb = KnowledgeBase.of(articles, OFF)
    assert kb.opinion("how much does it cost") is None
    assert kb.decide("how much does it cost").kind in ("answer", "clarify", "unknown")
    assert all(c.learned is None for c in kb.rank("how much does it cost"))
    fused = Thresholds.measured("static")
    assert fused.learned_probability >= 1  # the fused defaults: off


# finding 6: a reload of changed articles trained the classifier on the event loop,
# holding every customer's message for its seconds (8.6 s at 300 articles, idle)


async def test_the_running_bot_reloads_changed_articles_off_the_event_loop(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Candor(config) as app:
        loop = asyncio.get_running_loop()
        reloaded = asyncio.Event()
        where: list[int] = []

        def reload() -> None:
            where.append(threading.get_ident())
            loop.call_soon_threadsafe(reloaded.set)

        monkeypatch.setattr(app, "reload_knowledge", reload)
        monkeypatch.setattr(app.knowledge, "changed_on_disk", lambda: True)
        watcher = asyncio.create_task(app._watch_knowledge(0))
        try:
            await reloaded.wait()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        assert where and where[0] != threading.get_ident()


# finding 7 (not fixed, a design choice): a second opinion answers a question about
# another product that words alone met with a menu


@pytest.mark.xfail(
    strict=True,
    reason="finding 7: the second opinion turns a menu into an answer for questions naming"
    " another product in the articles' words (Asana and Jira are known words here:"
    " onboarding-migration names them); refusing it for a word the knowledge base does not"
    " know caught 'Tesla' only and cost 8 right answers on the shipped sets; refusing it for"
    " one-word questions cost 10 right for 1 wrong ('costs'). Held-out OOS answered 3.0 % ->"
    " 9.1 %, near the 10 % floor",
)
@pytest.mark.parametrize(
    "question", ["how much does Asana cost", "is the free trial of Jira 7 or 30 days"]
)
def test_a_question_about_another_product_is_not_answered_by_the_second_opinion(
    shipped: KnowledgeBase, question: str
) -> None:
    assert KnowledgeBase.load(KNOWLEDGE, OFF).decide(question).kind != "answer"
    assert shipped.decide(question).kind != "answer"


# finding 8: an article's texts were counted with their repeats: one question written
# MIN_EXAMPLES times (KnowledgeBase.of does not remove repeats; a tag repeating the
# title) made an article "learnt well" from one text


def test_an_article_is_learnt_well_from_different_texts_only() -> None:
    many = [f"how do i change the plan {n}" for n in range(learned.MIN_EXAMPLES)]
    articles = [
        art("echo", "Echo", ["how much is the echo plan"] * (learned.MIN_EXAMPLES + 2)),
        art("tags", "Tags", ["Tags", " tags "], ["TAGS", "tags"] * learned.MIN_EXAMPLES),
        art("plans", "Plans", many),
    ]
    kb = KnowledgeBase.of(articles)
    assert not kb.knows_well("echo")
    assert not kb.knows_well("tags")
    assert kb.knows_well("plans")


# finding 9: every decision asked the classifier (rank filled in each candidate's
# probability), also where words alone decide: 2-3 times a words-only decision's cost


def test_a_decision_asks_the_classifier_only_where_it_may_answer(
    shipped: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert shipped._learned is not None
    asked: list[str] = []
    real = shipped._learned.opinion

    def counting(text: str) -> learned.Opinion | None:
        asked.append(text)
        return real(text)

    monkeypatch.setattr(shipped._learned, "opinion", counting)
    alone = KnowledgeBase.load(KNOWLEDGE, OFF)
    for question in ("what is the weather in paris tomorrow #1", "qwpoeiru zxmcnv #2"):
        assert shipped.decide(question).kind == alone.decide(question).kind
    words = [t for t, _ in read_eval(ROOT / "tests" / "data" / "customer_questions.jsonl")]
    clear = [t for t in words if alone.decide(t).kind == "answer" and not alone.decide(t).asked]
    assert len(clear) >= 20
    asked.clear()
    for text in clear[:20]:
        shipped.decide(text + " ")  # new to its cache
    assert asked == []  # words alone answered: no opinion was needed
    decision = shipped.decide("will you remind me before the trial ends ")
    assert decision.second_opinion and asked  # and asked where it answers
    first = shipped.rank("will you remind me before the trial ends")[0]
    assert first.learned is not None  # `kb ask` still shows each candidate's


def test_the_config_leaves_the_fused_modes_second_opinion_off_unless_set() -> None:
    from bot.config import KnowledgeSettings

    unset = KnowledgeSettings(semantic="static").thresholds()
    assert "learned_probability" not in unset
    assert Thresholds.measured("static", **unset).learned_probability == 1
    chosen = KnowledgeSettings(semantic="static", learned_probability=0.5).thresholds()
    assert Thresholds.measured("static", **chosen).learned_probability == 0.5
    assert Thresholds.measured("off").learned_probability < 1  # on by default, words only
