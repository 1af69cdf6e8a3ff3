"""One index per language: its own articles (the translations in knowledge/<lang>/)
and the English articles it has no translation of.

A customer's question is matched only against the index of their language, read
with that language's analysis (bot/knowledge/languages.py), words only: the
semantic models are English. An English article without a translation is in every
other language's index, its English title, questions and tags read with that
language's analysis: it is found by the words a question shares with it (names,
plans, "SSO", "SLA", "PayPal", English words customers use), and when it is the
answer it is answered in English (its `language` says so, and the bot adds a line
saying the article is in English). Putting it in the index, rather than asking
the English index again when the language's says "unknown", keeps one decision
with one set of thresholds, and no English typo correction or English spelling
map ever reads a German question (benchmarks/RESULTS.md, issue 18, compares both).

English is the base index, built as before; an English-only knowledge base holds
no other. A language with a folder is indexed at load, and so is each language the
knowledge base is told is configured (`KnowledgeBase.load(..., languages=...)`);
any other when first asked, over the English articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.knowledge.articles import BASE_LANGUAGE, LANGUAGE_CODES, Article
from bot.knowledge.languages import analysis_for
from bot.knowledge.matcher import Matcher


@dataclass(frozen=True, slots=True)
class LanguageIndex:
    language: str
    articles: list[Article]  # in the matcher's order: own ones, then untranslated English
    matcher: Matcher


@dataclass(slots=True)
class Languages:
    """The base index and the translations, each language's index built once."""

    base: LanguageIndex
    own: dict[str, dict[str, Article]]  # language -> id -> its translation
    built: dict[str, LanguageIndex] = field(default_factory=dict)

    @classmethod
    def of(
        cls, base: LanguageIndex, translations: Sequence[Article], configured: Sequence[str] = ()
    ) -> Languages:
        """Every language with translations indexed now, and each `configured` one."""
        own: dict[str, dict[str, Article]] = {}
        for article in translations:
            own.setdefault(article.language, {}).setdefault(article.id, article)
        languages = cls(base, own, {BASE_LANGUAGE: base})
        for language in sorted({*own, *configured}):
            languages.index(language)
        return languages

    def names(self) -> list[str]:
        """The base language, then each language that has translations."""
        return [BASE_LANGUAGE, *sorted(self.own)]

    def index(self, language: str) -> LanguageIndex:
        """`language`'s index; the base one for a code that is not a language."""
        language = code(language)
        found = self.built.get(language)
        if found is None:
            own = self.own.get(language, {})
            articles = [*own.values(), *(a for a in self.base.articles if a.id not in own)]
            matcher = Matcher(
                articles, "off", language=language, spellings=_spellings(own, language)
            )
            found = LanguageIndex(language, articles, matcher)
            self.built[language] = found
        return found

    def translation(self, article_id: str, language: str) -> Article | None:
        """The article's translation into `language`, if there is one."""
        return self.own.get(code(language), {}).get(article_id)


def _spellings(own: dict[str, Article], language: str) -> set[str]:
    """The words of a language's own articles (title, questions, tags): the only ones a
    word its articles never use is taken for a typo of."""
    content_words = analysis_for(language).content_words
    return {
        w
        for a in own.values()
        for text in (a.title, *a.questions, *a.tags)
        for w in content_words(text)
    }


def code(language: str) -> str:
    """An ISO 639-1 code as the knowledge folders name it, or the base language's
    for anything else ("", "xx", "de-AT" is "de")."""
    folded = language.strip().lower()[:3].replace("_", "-").split("-")[0]
    return folded if folded in LANGUAGE_CODES else BASE_LANGUAGE
