"""A question that asks two things in one ("30 Business seats yearly, and can the
invoice be in EUR with our VAT id?") split into its asks.

The split is conservative: it cuts only where a customer plainly starts another
ask — a sentence's end ("." "!" "?"), a semicolon, "and also", "also," or a comma
or "and" followed by a question word ("..., and can the invoice", "... and is
there a trial"). "Team and Business plans" stays one ask. Pieces without a word
that says anything (a greeting, "thanks in advance") are dropped, and at most
`MAX_ASKS` are kept, the rest joined to the last one.

The pattern has no nested quantifiers and a run of punctuation is consumed once
(possessive, and only from its start), so a pathological message costs linear
time; the text is the matcher's bounded first MAX_MATCHED characters anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.knowledge.analysis import STOPWORDS, words

MAX_ASKS = 3  # asks kept from one message; more are joined to the last

# words that start an ask of its own after a comma or "and"
_ASKING = (
    r"(?:can|could|do|does|did|is|are|was|were|will|would|should|shall|may|what|whats|"
    r"how|hows|when|where|which|who|whom|why|any|is\s+there|are\s+there)"
)
# a piece that starts with one of these tells about the customer ("we're 12 people",
# "a colleague left", "I'm the office manager") rather than asking: context
CONTEXT = frozenset(
    """
    we were weve wed well i im ive id ill our ours my mine me us they theyre theyve their
    he she his her it its this that these those there theres a an the hi hello hey dear so
    honestly basically just yo if someone
    """.split()  # noqa: SIM905
)
LEADING = frozenset({"and", "but", "also", "so", "plus", "ok", "okay", "then", "oh"})

_CUT = re.compile(
    # a sentence's end (a run of marks counts once; not "e.g." nor "U.S.")
    r"(?<![.!?])(?<!\b[^\W\d_])[.!?]++(?=\s|$)"
    r"|(?<![?])\?++"  # a question mark, even with no space after it ("cost?and")
    r"|;"
    rf"|\s[-–—]++\s*+(?={_ASKING}\b)"  # "30 seats yearly - how much is that"
    r"|\band\s++also\b,?"
    r"|\balso,"
    rf"|,\s*+(?:and\s++|but\s++|plus\s++)?(?={_ASKING}\b)"
    rf"|\s(?:and|but|plus)\s++(?={_ASKING}\s)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Ask:
    text: str
    question: bool  # it ends with "?" or does not start by telling about the customer


def asks(text: str) -> list[Ask]:
    """The asks in `text`, in order; one (the whole) when nothing plainly starts
    another. Pieces with no word beyond stopwords are left out."""
    pieces: list[tuple[str, bool]] = []
    start = 0
    for cut in _CUT.finditer(text):
        piece = text[start : cut.start()]
        pieces.append((piece, "?" in cut.group()))
        start = cut.end()
    pieces.append((text[start:], False))
    found: list[Ask] = []
    for piece, marked in pieces:
        said = words(piece)
        if not any(w not in STOPWORDS for w in said):
            continue
        first = next((w for w in said if w not in LEADING), "")
        found.append(Ask(piece.strip(" ,-–—:\t\n"), marked or first not in CONTEXT))
    if len(found) > MAX_ASKS:
        rest = found[MAX_ASKS - 1 :]
        joined = " ".join(a.text for a in rest)
        found = [*found[: MAX_ASKS - 1], Ask(joined, any(a.question for a in rest))]
    return found or [Ask(text.strip(), "?" in text)]
