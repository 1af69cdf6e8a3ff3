"""The analysis of one language's text: its words, stop words and stems.

Each language's index (bot/knowledge/base.py) reads its articles, and the matcher
its questions, through one `Analysis`, so both sides see the same features:

- words: the same folding for every language (bot/knowledge/analysis.py `fold`:
  case, compatibility forms and accents, so "que" matches "qué" and "cancelacion"
  "cancelación"); French (and Italian, Catalan) split elisions at the apostrophe
  ("l'essai" is "l" "essai") where English drops it ("don't" is "dont");
- stems: Snowball's stemmer of the language, fed the folded word (a customer's
  "facturacion" and the article's "facturación" stem alike), after Portuguese
  "-cao"/"-coes" are given back their "ção"/"ções" (which the stemmer needs to see
  to cut them); a language Snowball has no stemmer for is matched on whole words;
- stop words: short lists of function words written here (articles, pronouns,
  prepositions, auxiliaries, greetings and politeness), negations and the question
  words that change the topic ("nicht", "sin", "pourquoi", "quanto") kept, as in
  the English list. The packaged lists (stop-words 2025.11.4) were not used: they
  hold words customers ask about (es "cuenta" account, fr "essai" trial and
  "personne" person, pt "horas" hours, "valor" price).

English keeps its own analysis unchanged (analysis.py: customers' spellings mapped,
its stop words, its real-word vocabulary guarding typo correction). None of that
is applied to another language: with no vocabulary to say a word is real, the
matcher takes a word for a typo of the language's own articles' words only one
edit away and from the same first letter (matcher.py, translated.py;
benchmarks/RESULTS.md, issue 18).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.knowledge import analysis
from bot.knowledge.articles import BASE_LANGUAGE

_WORD = re.compile(r"[^\W_]+")
_ELISION = str.maketrans({c: " " for c in "'’‘`´"})
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})  # "cœur" as "coeur" (NFKC keeps them)
TYPO_MIN_LENGTH = 4  # a stop word this long or longer may be misspelt by one edit

# Snowball's algorithm for an ISO 639-1 code
SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "eo": "esperanto",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "nb": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}
SPLIT_ELISIONS = frozenset({"fr", "it", "ca"})

# Folded (no accents, lower case), as the words they are compared with.
_STOPWORDS = {
    "de": """
    der die das den dem des ein eine einer eines einem einen ich du er sie es wir ihr mich
    mir dich dir uns euch ihnen sich mein meine meinen meinem meiner meines unser unsere
    unseren unserem unserer dein deine deinen ihre ihren ihrem ihrer sein seine seinen und
    oder aber auch noch schon so dann da denn doch ja nur mal bitte danke dank vielen hallo
    hi hey moin servus zu zum zur im in an am auf aus bei beim mit von vom fur uber um als
    ist sind war waren bin bist habe hast hat haben hatte hatten wird werden wurde wurden
    kann kannst konnen konnt konnte konnten mochte mochten will willst wollen soll sollte
    sollen muss mussen darf durfen gibt gibts was welche welcher welches welchen welchem
    dass ob wenn etwas man hier dort jetzt gerne gern vielleicht eigentlich einfach wissen
    weiss sagen mehr sehr ok okay
    """,
    "es": """
    el la los las lo un una unos unas de del al a en y e o u pero que cual cuales es son
    ser soy eres somos esta estan estoy estamos este esto estos estas eso esa ese esos esas
    hay tengo tiene tienen tenemos tener hola buenas buenos gracias favor porfa me mi mis te
    tu tus su sus nos nuestro nuestra nuestros nuestras yo usted ustedes el ella ellos ellas
    se le les con para por muy mas tambien ya si puedo puede pueden podemos podria poder
    quiero quisiera queremos necesito necesitamos saber algo alguna alguno algun hacer hace
    ok vale
    """,
    "fr": """
    le la les l un une des du de d au aux a et ou mais que qu quoi quel quelle quels quelles
    est sont etre suis es etes ai as avons avez ont avoir c ce cet cette ces ca cela ceci je n
    j tu il elle on nous vous ils elles me m te t se s moi toi lui leur leurs mon ma mes ton
    ta tes son sa ses notre nos votre vos en y dans sur pour par avec chez ne bonjour salut
    bonsoir merci svp plait peux peut pouvons pouvez puis voudrais voudrions veux voulons
    aimerais aimerions faut savoir dire tres plus aussi deja ok
    """,
    "pt": """
    o a os as um uma uns umas de do da dos das no na nos nas em ao aos e ou mas que qual
    quais ser sao esta estao estou sou somos tem temos tenho ter ha eu voce voces ele ela
    eles elas me mim te se lhe meu minha meus minhas nosso nossa nossos nossas seu sua seus
    suas com para por pra pelo pela pelos pelas isso isto esse essa este aquele muito mais
    tambem ja oi ola obrigado obrigada favor posso pode podem podemos poder quero queria
    queremos gostaria gostariamos preciso precisamos saber fazer algo algum alguma ok
    """,
}
STOPWORDS: dict[str, frozenset[str]] = {
    language: frozenset(text.split()) for language, text in _STOPWORDS.items()
}


@dataclass(frozen=True, slots=True, eq=False)
class Analysis:
    """How one language's text is turned into the matcher's features."""

    language: str
    words: Callable[[str], list[str]]  # every folded word, in order
    content_words: Callable[[str], list[str]]  # without stop words (all if none is left)
    stem: Callable[[str], str]
    stopwords: frozenset[str]
    # real words of the language, never taken for a typo of another (English only)
    vocabulary: Callable[[], frozenset[str]]
    misspelt_stopword: Callable[[str], bool]  # one edit from a stop word ("dose", "whta")

    @property
    def english(self) -> bool:
        return self.language == BASE_LANGUAGE


def _misspelt(stopwords: frozenset[str]) -> Callable[[str], bool]:
    listed = sorted(w for w in stopwords if len(w) >= TYPO_MIN_LENGTH)

    @lru_cache(maxsize=8192)
    def misspelt(word: str) -> bool:
        if len(word) < TYPO_MIN_LENGTH or len(word) > 7 or not listed:
            return False
        return process.extractOne(word, listed, scorer=OSA.distance, score_cutoff=1) is not None

    return misspelt


def _fold(text: str, split_elisions: bool) -> str:
    if split_elisions:
        text = unicodedata.normalize("NFKC", text).translate(_ELISION)
    return analysis.fold(text).translate(_LIGATURES)


def _portuguese(word: str) -> str:
    """The "ção"/"ções" a folded Portuguese word lost, for the stemmer to cut."""
    if word.endswith("coes"):
        return word[:-4] + "ções"
    if word.endswith("cao"):
        return word[:-3] + "ção"
    return word


@cache
def analysis_for(language: str) -> Analysis:
    """The analysis of `language` (an ISO 639-1 code); English's is analysis.py's."""
    if language == BASE_LANGUAGE:
        return Analysis(
            language,
            analysis.words,
            analysis.content_words,
            analysis.stem,
            analysis.STOPWORDS,
            analysis.english_words,
            _misspelt(analysis.STOPWORDS),
        )
    stopwords = STOPWORDS.get(language, frozenset())
    split = language in SPLIT_ELISIONS
    algorithm = SNOWBALL.get(language)
    stemmer = snowballstemmer.stemmer(algorithm) if algorithm else None

    def words(text: str) -> list[str]:
        return _WORD.findall(_fold(text, split))

    def content_words(text: str) -> list[str]:
        found = words(text)
        kept = [w for w in found if w not in stopwords]
        return kept or found

    @lru_cache(maxsize=65536)
    def stem(word: str) -> str:
        if stemmer is None or len(word) <= 3 or not word.isalpha():
            return word
        given = _portuguese(word) if language == "pt" else word
        return analysis.fold(str(stemmer.stemWord(given)))

    return Analysis(
        language, words, content_words, stem, stopwords, _no_vocabulary, _misspelt(stopwords)
    )


def _no_vocabulary() -> frozenset[str]:
    return frozenset()
