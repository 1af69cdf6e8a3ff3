"""Which of the configured languages a message is written in, when that is clear.

lingua-language-detector, offline (its models are in its wheel; nothing is
downloaded), restricted to the configured languages. A message switches the
customer's language only when it is clear: enough letters, one language well ahead
of the others (a mixed message whose languages are close is not clear), and a
greeting of one language alone ("Hallo", "Olá", "Buenos días") is clear too.
Short texts ("ok", "👍", "thanks", a number, an id) never are.

A message in a script none of the configured languages writes (Arabic, Hebrew,
Cyrillic, Greek, CJK, …) is `foreign`: the bot answers in the default language
and says which languages it speaks. A Latin-script language that is not configured
(Italian, Dutch) cannot be told from the configured ones this cheaply: it reads
as unclear, or as its closest configured language.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lingua itself is imported when first needed
    from lingua import LanguageDetector

# How clear a message must be to switch the language.
MIN_LETTERS = 8  # letters in the message
MIN_WORDS = 2  # words of two letters or more
MIN_CONFIDENCE = 0.7  # the detector's confidence in the first language
MIN_LEAD = 0.4  # ahead of the second by at least this
MAX_SCANNED = 400  # characters the detector reads (the start of a long message)

# Greetings, by language: a message that is one of these alone is that language's.
GREETINGS: dict[str, tuple[str, ...]] = {
    "en": ("hi", "hello", "hey", "hiya", "howdy", "good morning", "good afternoon",
           "good evening", "good day", "greetings"),
    "de": ("hallo", "guten tag", "guten morgen", "guten abend", "servus", "moin",
           "grüß gott", "grüß dich", "grüezi", "hallöchen"),
    "es": ("hola", "buenos días", "buenos dias", "buenas tardes", "buenas noches",
           "buenas", "qué tal", "que tal"),
    "fr": ("bonjour", "bonsoir", "salut", "coucou", "allô", "allo"),
    "pt": ("olá", "ola", "oi", "bom dia", "boa tarde", "boa noite", "tudo bem"),
}  # fmt: skip
_GREETING_TAIL = (
    r"[\s,!.?¡¿]*+(?:there|candor|team|all|folks|everyone|à tous|a todos|zusammen)?[\s!.?]*+"
)
_WORD = re.compile(r"[^\W\d_]{2,}")
# What is written in no language: links, e-mail addresses, paths and code. Left out
# before reading, so that a pasted link or error message does not switch a German
# customer to English.
_NOT_WORDS = re.compile(
    r"```.*?(?:```|$)|`[^`\n]*+`|\b(?:https?|ftp)://\S*+|\bwww\.\S++|[\w.+-]++@[\w-]++\.[\w.-]++"
    r"|[^\s/\\]*+[/\\]\S*+|[^\s_=<>{}\[\]#|]*+[_=<>{}\[\]#|]\S*+",
    re.DOTALL,
)
_FOREIGN_SCRIPTS = ("ARABIC", "HEBREW", "CYRILLIC", "GREEK", "CJK", "HIRAGANA", "KATAKANA",
                    "HANGUL", "THAI", "DEVANAGARI", "ARMENIAN", "GEORGIAN", "SYRIAC", "THAANA",
                    "BENGALI", "TAMIL", "ETHIOPIC")  # fmt: skip


def _greeting_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words),
                                   key=len, reverse=True))  # fmt: skip
    return re.compile(rf"^[¡¿]?(?:{alternatives})\b{_GREETING_TAIL}$", re.IGNORECASE)


_GREETING_OF = {language: _greeting_pattern(words) for language, words in GREETINGS.items()}


def greeting_languages(text: str) -> list[str]:
    """The languages `text` is a greeting in, if it is one ("hallo": de)."""
    if len(text) > 60:
        return []
    return [language for language, pattern in _GREETING_OF.items() if pattern.match(text)]


@dataclass(frozen=True, slots=True)
class Reading:
    language: str = ""  # the configured language the message is clearly in ("": unclear)
    foreign: bool = False  # written in a script no configured language uses


def _script_of(char: str) -> str:
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0]


def foreign_script(text: str) -> bool:
    """Two or more letters of a script the five shipped languages do not write, and
    at least as many as letters of the Latin one: a German message that names a city
    in its own script ("unser Büro in 東京") or a person ("Σοφία") is not foreign."""
    foreign = latin = 0
    for char in text[:MAX_SCANNED]:
        if not char.isalpha():
            continue
        if char.isascii() or _script_of(char) == "LATIN":
            latin += 1
        elif _script_of(char) in _FOREIGN_SCRIPTS:
            foreign += 1
    return foreign >= 2 and foreign >= latin


def without_code(text: str) -> str:
    """`text` without its links, e-mail addresses, paths, ids and code (`_NOT_WORDS`)."""
    return _NOT_WORDS.sub(" ", text)


class Detector:
    """Reads messages among `languages` (the configured ones)."""

    def __init__(self, languages: tuple[str, ...]) -> None:
        self.languages = languages

    def read(self, text: str) -> Reading:
        if len(self.languages) < 2:
            return Reading()
        text = without_code(text[:MAX_SCANNED])
        if foreign_script(text):
            return Reading(foreign=True)
        greeted = [g for g in greeting_languages(text.strip()) if g in self.languages]
        if len(greeted) == 1:
            return Reading(greeted[0])
        if greeted:
            return Reading()
        words = _WORD.findall(text)
        if len(words) < MIN_WORDS or sum(len(w) for w in words) < MIN_LETTERS:
            return Reading()
        values = _detector(self.languages).compute_language_confidence_values(" ".join(words))
        if not values:
            return Reading()
        first = values[0]
        second = values[1].value if len(values) > 1 else 0.0
        if first.value < MIN_CONFIDENCE or first.value - second < MIN_LEAD:
            return Reading()
        code = first.language.iso_code_639_1.name.lower()
        return Reading(code if code in self.languages else "")

    def warm(self) -> None:
        """Load the detector's models now (at start), not on a customer's message."""
        if len(self.languages) >= 2:
            _detector(self.languages)


@functools.cache
def _detector(languages: tuple[str, ...]) -> LanguageDetector:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    chosen = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in languages]
    return LanguageDetectorBuilder.from_languages(*chosen).with_preloaded_language_models().build()
