"""The knowledge base the dialog asks: articles, the index over them, and the
three-way decision (answer, clarify, unknown)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from bot.knowledge.analysis import content_words
from bot.knowledge.articles import (
    BASE_LANGUAGE,
    Article,
    Problem,
    article_files,
    load_articles,
    snapshot,
)
from bot.knowledge.asks import Ask, asks
from bot.knowledge.learned import Learned, Opinion
from bot.knowledge.matcher import (
    W_CLOSENESS,
    W_COVERAGE,
    W_SEMANTIC,
    W_SHAPE,
    Matcher,
    Scored,
    Semantic,
)
from bot.knowledge.parts import ScorePart
from bot.knowledge.translated import LanguageIndex, Languages, code
from bot.text import MAX_MATCHED

DecisionKind = Literal["answer", "clarify", "unknown"]
# an ask answered on its own says at least this many words that say something: one
# word alone ("what are your rates") is too little when the whole question was unsure
ANSWERED_ASK_WORDS = 2
DECISIONS_KEPT = 4096  # recent questions whose decision is kept (customers ask alike)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When to answer, when to ask back, when to say "I don't know".

    The defaults were chosen with `candor kb eval` on the shipped evaluation file
    and the public benchmarks (benchmarks/RESULTS.md): a wrong answer costs more
    than a clarifying question, and a clarifying question about something the
    knowledge base does not cover costs little. These are the words-only matcher's
    (the default, semantic = "off"); the fused matcher's (FUSED below, semantic =
    "static") were chosen by benchmarks/threshold_sweep.py on the calibration set: no
    more risk there than the words-only matcher took with its own defaults, then the
    most right answers plus right-or-offered.

    With meaning fused in, a direct answer also needs words alone to single the
    winner out: it must lead the other re-ranked articles on its lexical score by
    `words_margin` (the words-only matcher's own margin). Then it is answered when
    the fused score passes `answer_score` and `answer_margin`, or when its lexical
    score alone passes `words_score` (what the words-only matcher would answer,
    which a low meaning part must not turn into a menu). A win that meaning alone
    carries ("we can only buy with a purchase order" -> how to buy, while its words
    point at purchase orders; "what do you know about me" -> about Candor, meaning
    saying your data) is offered as an option instead: the fused matcher's wrong
    answers on the shipped sets were of that kind, or words barely ahead ("Do you
    support 2FA?" -> support hours).
    """

    answer_score: float = 0.40  # the best article must score at least this to be answered
    answer_margin: float = 0.14  # ... and lead the next one by at least this
    clarify_score: float = 0.20  # below this the bot says it does not know
    clarify_spread: float = 0.30  # options offered score within this of the best
    max_options: int = 3
    # with meaning fused in only: the winner's lead on words alone, and its lexical
    # score that answers without the fused one (the words-only defaults)
    words_margin: float = 0.10
    words_score: float = 0.40
    # a second opinion (learned.py) stands in for the lead: the best article is
    # clear too when the classifier puts it first with at least this probability
    # (1: no second opinion)
    learned_probability: float = 0.30

    def __post_init__(self) -> None:
        if not 0 <= self.clarify_score <= self.answer_score <= 1:
            raise ValueError("thresholds need 0 <= clarify_score <= answer_score <= 1")
        if not 1 <= self.max_options <= 5:
            raise ValueError("max_options must be between 1 and 5")
        if not 0 <= self.learned_probability <= 1:
            raise ValueError("learned_probability must be between 0 and 1")

    @classmethod
    def measured(cls, semantic: Semantic = "off", **chosen: Any) -> Thresholds:
        """The measured defaults for a `semantic` mode, with `chosen` ones put in."""
        start = {"off": cls(), "static": FUSED, "minilm": MINILM}[semantic]
        return replace(start, **chosen)


# The defaults of the matcher that fuses meaning with words (semantic = "static").
# Chosen by benchmarks/threshold_sweep.py with base.py's decision rule (a winner that
# words alone single out): no fused margin is needed once words_margin holds.
# The second opinion is off there: on the calibration set it stands in for the words'
# lead too often (threshold_sweep.py --modes static --learned: 5.1 % wrong at 0.30, and
# the thresholds it then chooses answer fewer rightly than these; RESULTS.md).
FUSED = Thresholds(answer_score=0.44, answer_margin=0.0, clarify_score=0.22, learned_probability=1)
# The defaults with all-MiniLM-L6-v2 fused (semantic = "minilm", the optional extra),
# chosen the same way (threshold_sweep.py --modes minilm; benchmarks/RESULTS.md).
MINILM = Thresholds(answer_score=0.58, answer_margin=0.0, clarify_score=0.24, learned_probability=1)


@dataclass(frozen=True, slots=True)
class Candidate:
    article: Article
    score: float  # 0..1: the fused score, or the lexical one when semantic matching is off
    why: str
    parts: tuple[ScorePart, ...] = ()  # the score's named parts (`candor kb ask`)
    lexical: float = 0.0  # the lexical score (the same as `score` when semantic is off)
    semantic: float | None = None  # the meaning part, 0..1; None when semantic is off
    words_lead: float = 1.0  # lexical lead over the other re-ranked articles (< 0: behind)
    learned: float | None = None  # the classifier's probability, when among its likeliest


@dataclass(frozen=True, slots=True)
class Decision:
    kind: DecisionKind
    candidates: tuple[Candidate, ...]  # answer: the one; clarify: the options; unknown: best few
    query: str
    # A question asking two things, one clearly (bot/knowledge/asks.py): the answer is
    # for the ask `asked` (a part of `query`); `also` are the best articles for the
    # other ask, `also_asked`, to offer (never to answer) alongside.
    asked: str = ""
    also: tuple[Candidate, ...] = ()
    also_asked: str = ""
    # answered because the classifier put the same article first (learned.py), where
    # the scores alone would have offered a menu
    second_opinion: bool = False


def _why(scored: Scored) -> str:
    """What the question shares with the article (the score's parts are in
    `Candidate.parts`)."""
    parts = [] if scored.semantic is None else [f"meaning {scored.semantic:.2f}"]
    if scored.matched:
        parts.append("shared: " + ", ".join(scored.matched))
    if scored.question:
        parts.append(f"closest: “{scored.question}”")
    return "; ".join(parts)


def _parts(scored: Scored, weight: float = W_SEMANTIC) -> tuple[ScorePart, ...]:
    """The result's own parts if the matcher names them (a `parts` that is
    missing or empty does not), else today's three lexical signals and weights."""
    given = getattr(scored, "parts", None)
    if given:
        return tuple(given)
    lexical = (
        ScorePart("words", "lexical", scored.coverage, W_COVERAGE),
        ScorePart("spelling", "lexical", scored.shape, W_SHAPE),
        ScorePart("closest question", "lexical", scored.closeness, W_CLOSENESS),
    )
    semantic = getattr(scored, "semantic", None)
    if semantic is None:
        return lexical
    # fused: (1 - weight) of the lexical score, `weight` (the mode's) of the meaning
    kept = 1 - weight
    return (
        *(ScorePart(p.name, p.kind, p.signal, p.weight * kept) for p in lexical),
        ScorePart("meaning", "semantic", semantic, weight),
    )


class KnowledgeBase:
    def __init__(
        self,
        articles: list[Article],
        problems: list[Problem],
        thresholds: Thresholds,
        directory: Path | None = None,
        semantic: Semantic = "off",
        languages: Sequence[str] = (),
    ) -> None:
        """`languages`: the configured ones, indexed now even without a folder of
        translations (else a language's index is built when it is first asked)."""
        # the base language's articles; translations are in their languages' indexes
        self._articles = [a for a in articles if a.language == BASE_LANGUAGE]
        self._by_id = {a.id: a for a in self._articles}
        self.problems = problems
        self.thresholds = thresholds
        self.directory = directory
        self.semantic: Semantic = semantic
        self._matcher = Matcher(self._articles, semantic)
        # the second opinion is the base language's (other languages: words only);
        # none is trained when it is off (learned_probability 1, the fused modes'
        # default): its training, memory and a question's opinion would buy nothing
        off = thresholds.learned_probability >= 1
        self._learned = None if off else Learned.train(self._articles)
        base = LanguageIndex(BASE_LANGUAGE, self._articles, self._matcher)
        translations = [a for a in articles if a.language != BASE_LANGUAGE]
        self._languages = Languages.of(base, translations, languages)
        self.configured = tuple(languages)
        self._files = snapshot(article_files(directory)) if directory is not None else {}
        self._decided = lru_cache(maxsize=DECISIONS_KEPT)(self._decide)

    @classmethod
    def load(
        cls,
        directory: Path,
        thresholds: Thresholds | None = None,
        semantic: Semantic = "off",
        languages: Sequence[str] = (),
    ) -> KnowledgeBase:
        """Never raises for bad files: they are listed in `problems` and skipped."""
        articles, problems = load_articles(directory)
        chosen = thresholds or Thresholds.measured(semantic)
        return cls(articles, problems, chosen, directory, semantic, languages)

    @classmethod
    def of(
        cls,
        articles: list[Article],
        thresholds: Thresholds | None = None,
        semantic: Semantic = "off",
    ) -> KnowledgeBase:
        return cls(articles, [], thresholds or Thresholds.measured(semantic), semantic=semantic)

    def articles(self, language: str = BASE_LANGUAGE) -> list[Article]:
        """The base language's articles, or `language`'s own translations."""
        if code(language) == BASE_LANGUAGE:
            return list(self._articles)
        return list(self._languages.own.get(code(language), {}).values())

    def languages(self) -> list[str]:
        """The base language, then each language that has translations."""
        return self._languages.names()

    def get(self, article_id: str, language: str = BASE_LANGUAGE) -> Article | None:
        """The article in `language` if it is translated, else the English one."""
        if language != BASE_LANGUAGE:
            translated = self._languages.translation(article_id, language)
            if translated is not None:
                return translated
        return self._by_id.get(article_id)

    def thresholds_for(self, language: str = BASE_LANGUAGE) -> Thresholds:
        """The base language's thresholds; another language is matched on words
        only, with the words-only ones (the same, when semantic matching is off)."""
        if self.semantic == "off" or code(language) == BASE_LANGUAGE:
            return self.thresholds
        return Thresholds.measured("off")

    def changed_on_disk(self) -> bool:
        if self.directory is None or not self.directory.is_dir():
            return False
        return snapshot(article_files(self.directory)) != self._files

    def reloaded(self) -> KnowledgeBase:
        assert self.directory is not None
        return KnowledgeBase.load(self.directory, self.thresholds, self.semantic, self.configured)

    def rank(
        self, text: str, limit: int = 5, language: str = BASE_LANGUAGE, learned: bool = True
    ) -> list[Candidate]:
        """The best articles for the first MAX_MATCHED characters of `text` (what a
        question is about is said early; the cost of a question stays bounded), in
        `language`'s index (bot/knowledge/translated.py); with each one's probability
        by the classifier unless `learned` is False (a decision asks it only when it
        may turn a menu into an answer: an opinion costs more than the ranking)."""
        text = text[:MAX_MATCHED]
        index = self._languages.index(language)
        weight = index.matcher.fusion()[0]
        opinion = self.opinion(text, language) if learned else None
        return [
            Candidate(
                index.articles[s.index],
                s.score,
                _why(s),
                _parts(s, weight),
                s.lexical,
                s.semantic,
                s.words_lead,
                None if opinion is None else opinion.of(index.articles[s.index].id),
            )
            for s in index.matcher.rank(text, limit)
        ]

    def opinion(self, text: str, language: str = BASE_LANGUAGE) -> Opinion | None:
        """The classifier's likeliest articles for `text` (learned.py); None when no
        classifier was trained, it knows none of the text's n-grams, or `language` is
        not the base language (the classifier learnt the English articles)."""
        if self._learned is None or code(language) != BASE_LANGUAGE:
            return None
        return self._learned.opinion(text[:MAX_MATCHED])

    def decide(self, text: str, language: str = BASE_LANGUAGE) -> Decision:
        """The decision for a question in `language` (matched on its first
        MAX_MATCHED characters); the same question again is not matched again."""
        decision = self._decided(text[:MAX_MATCHED], code(language))
        return decision if len(text) <= MAX_MATCHED else replace(decision, query=text)

    def _decide(self, text: str, language: str) -> Decision:
        if not any(ch.isalpha() for ch in text):  # "2", "4 / 5", "??": a pick, a rating, a
            return Decision("unknown", (), text)  # number alone, never a question's answer
        whole, ranked = self._judge(text, language)
        if language != BASE_LANGUAGE or (whole.kind == "answer" and not whole.second_opinion):
            return whole  # (asks are split by English words only; a second opinion's
            # answer may still leave another ask to offer)
        pieces = asks(text)
        if len(pieces) < 2:
            return whole
        judged = [(a, self._judge(a.text)[0]) for a in pieces]
        return self._split(whole, ranked, judged)

    def _split(
        self, whole: Decision, ranked: list[Candidate], pieces: list[tuple[Ask, Decision]]
    ) -> Decision:
        """The whole question is not clear but one of its asks may be. That ask's
        article is answered when the ask is a question (it does not start by telling
        about the customer: "we're 12 people", "if my phone is missing"), asks itself (a
        question word first or a question mark after it: "yearly billing, can we get
        our money back?" is about refunds, not billing), does not
        point back at the rest ("how much is that", "can I use
        it"), passed the same thresholds on its own, says at least
        ANSWERED_ASK_WORDS words, and is what the whole question ranks first on words
        (a part read alone may mean something else: "we started a trial - can we buy
        now" is about the trial). The other questions' best articles that the whole
        ranks among its best too are offered with it, never answered."""
        if not ranked:
            return whole
        # on words (the lexical score, which is the score when meaning is off)
        leader = max(ranked, key=lambda c: c.lexical)
        margin = self.thresholds.words_margin
        near = {c.article.id for c in ranked if c.lexical >= leader.lexical - margin}
        answered = [
            (a, d)
            for a, d in pieces
            if a.question
            and a.asking
            and not a.points_back
            and d.kind == "answer"
            and len(content_words(a.text)) >= ANSWERED_ASK_WORDS
            and d.candidates[0].article.id == leader.article.id
        ]
        if not answered:
            return self._seconded_whole(whole, ranked, pieces)
        ask, chosen = max(answered, key=lambda p: p[1].candidates[0].score)
        best = chosen.candidates[0]
        if any(
            a.question
            and d.kind == "answer"
            and d.candidates[0].article.id in near - {best.article.id}
            and len(content_words(a.text)) < ANSWERED_ASK_WORDS
            for a, d in pieces
        ):  # a short question clearly about another article ("..., what hours") says
            # what the rest is about: the whole is torn between the two
            return self._seconded_whole(whole, ranked, pieces)
        also, others = self._offered(ask, best, ranked, pieces)
        return Decision(
            "answer", (best,), whole.query, asked=ask.text, also=also, also_asked=others
        )

    def _seconded_whole(
        self, whole: Decision, ranked: list[Candidate], pieces: list[tuple[Ask, Decision]]
    ) -> Decision:
        """No ask is clear on its own: the whole's decision, but a second opinion's
        answer to a question asking two things still offers the other ask's articles
        ("can I cancel and also get my money back" answered with refunds offers
        cancellation), as a menu of the whole would have."""
        if whole.kind != "answer" or not whole.second_opinion:
            return whole
        best = whole.candidates[0]
        ask = next(
            (
                a
                for a, d in pieces
                if d.candidates[:1] and d.candidates[0].article.id == best.article.id
            ),
            None,
        )
        also, others = self._offered(ask, best, ranked, pieces)
        asked = ask.text if ask is not None and also else ""
        return replace(whole, asked=asked, also=also, also_asked=others)

    def _offered(
        self,
        ask: Ask | None,
        best: Candidate,
        ranked: list[Candidate],
        pieces: list[tuple[Ask, Decision]],
    ) -> tuple[tuple[Candidate, ...], str]:
        """The best articles of the asks but `ask` that the whole ranks among its best
        too, but `best` (offered, never answered), and what those asks say."""
        related = [c.article.id for c in ranked]
        offered: dict[str, Candidate] = {}
        others: list[str] = []
        for a, d in pieces:
            if a is ask or not a.question or d.kind == "unknown":
                continue
            kept = [
                c
                for c in d.candidates
                if c.article.id in related and c.article.id != best.article.id
            ]
            if kept:
                others.append(a.text)
            for c in kept:
                offered.setdefault(c.article.id, c)
        also = tuple(offered.values())[: self.thresholds.max_options]
        return also, " … ".join(others) if also else ""

    def knows_well(self, article_id: str) -> bool:
        """Whether the classifier learnt the article from enough of its texts for its
        opinion to count (learned.py's MIN_EXAMPLES)."""
        return self._learned is not None and self._learned.knows_well(article_id)

    def _seconded(self, text: str, best: Candidate, language: str) -> bool:
        """Whether the classifier (learned.py) puts `best` first too, sure enough, for
        an article it learnt well (learned_probability 1: no second opinion)."""
        t = self.thresholds_for(language)
        if t.learned_probability >= 1 or self._learned is None:
            return False
        opinion = self.opinion(text, language)
        return (
            opinion is not None
            and opinion.article == best.article.id
            and opinion.probability >= t.learned_probability
            and self._learned.knows_well(best.article.id)
        )

    def _judge(self, text: str, language: str = BASE_LANGUAGE) -> tuple[Decision, list[Candidate]]:
        """The decision for one ask, and the articles it ranked best."""
        t = self.thresholds_for(language)
        ranked = self.rank(text, max(t.max_options, 3) + 1, language, learned=False)
        if not ranked or ranked[0].score < t.clarify_score:
            return Decision("unknown", tuple(ranked[:3]), text), ranked
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        ahead = best.score - runner_up >= t.answer_margin

        def clear(seconded: bool) -> bool:
            """A second opinion stands in for a lead: the best's over the next, and
            with meaning fused in, its lead on words alone over the others."""
            sure = best.score >= t.answer_score and (ahead or seconded)
            if best.semantic is None:
                return sure
            words_clear = best.words_lead >= t.words_margin or seconded
            return words_clear and (sure or best.lexical >= t.words_score)

        answer = clear(False)
        seconded = not answer and clear(True) and self._seconded(text, best, language)
        answer = answer or seconded
        if answer and seconded:
            return Decision("answer", (best,), text, second_opinion=True), ranked
        if answer:
            return Decision("answer", (best,), text), ranked
        return self._menu(text, ranked), ranked

    def _menu(self, text: str, ranked: list[Candidate]) -> Decision:
        """Which of the best was meant: those within `clarify_spread` of the best."""
        t = self.thresholds
        floor = max(t.clarify_score, ranked[0].score - t.clarify_spread)
        options = tuple(c for c in ranked[: t.max_options] if c.score >= floor)
        return Decision("clarify", options, text)
