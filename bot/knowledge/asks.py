"""A question that asks two things in one ("30 Business seats yearly, and can the
invoice be in EUR with our VAT id?") split into its asks.

The split is conservative: it cuts only where a customer plainly starts another
ask — a sentence's end ("." "!" "?"), a semicolon, "and also", "also," or a comma,
dash or "and" followed by a question word ("..., and can the invoice", "... - how
much is that", "... and is there a trial"). "Team and Business plans" stays one
ask. Pieces without a word
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
    honestly basically just yo if someone no yes sorry
    """.split()  # noqa: SIM905
)
LEADING = frozenset({"and", "but", "also", "so", "plus", "ok", "okay", "then", "oh", "ah"})

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


# the first words of a piece that asks something itself ("can we...", "what's...",
# "please send..."), besides one that ends in a question mark; any other piece ("yearly
# billing, can we get our money back?", "Team vs Business, what's the difference?") is
# a topic the next piece asks about: offered, never answered in its place
ASKING = frozenset(
    """
    can could do does did is are was were will would should shall may might must
    what whats how hows when where which who whom whose why any
    please pls tell send give show explain list help
    """.split()  # noqa: SIM905
)

# words that point back at the rest of the message ("how much is that", "can I use
# it"): what such an ask is about is said elsewhere
POINTING_BACK = frozenset({"it", "its", "this", "that", "these", "those", "they", "them"})


@dataclass(frozen=True, slots=True)
class Ask:
    text: str
    question: bool  # it does not start by telling about the customer ("we're 12 people")
    points_back: bool = False  # it says "it", "this", "that"...: about something said before
    asking: bool = False  # it asks itself: a question word first, or a question mark after


def asks(text: str) -> list[Ask]:
    """The asks in `text`, in order; one (the whole) when nothing plainly starts
    another. Pieces with no word beyond stopwords are left out."""
    pieces: list[tuple[str, bool]] = []  # each piece, and whether a "?" ends it
    start = 0
    for cut in _CUT.finditer(text):
        pieces.append((text[start : cut.start()], "?" in cut.group()))
        start = cut.end()
    pieces.append((text[start:], False))
    found: list[Ask] = []
    for piece, marked in pieces:
        said = words(piece)
        if not any(w not in STOPWORDS for w in said):
            continue
        first = next((w for w in said if w not in LEADING), "")
        back = any(w in POINTING_BACK for w in said)
        asking = marked or first in ASKING
        found.append(Ask(piece.strip(" ,-–—:\t\n"), first not in CONTEXT, back, asking))
    if len(found) > MAX_ASKS:
        rest = found[MAX_ASKS - 1 :]
        joined = " ".join(a.text for a in rest)
        joined_ask = Ask(
            joined,
            rest[0].question,
            any(a.points_back for a in rest),
            any(a.asking for a in rest),
        )
        found = [*found[: MAX_ASKS - 1], joined_ask]
    return found or [Ask(text.strip(), True, asking=True)]
