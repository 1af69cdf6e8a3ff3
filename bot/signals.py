"""What a customer's words signal, beyond the question itself: a greeting, a
request for a person, frustration, or that an answer did not help.

Deliberately conservative: a false "you seem frustrated" is irritating, and a
missed request for a person is cheap to correct (/human always works).

Every check runs on every message, on the event loop, so each costs time linear in
what it reads and reads a bounded part of the message (`scanned`: the first
`HEAD` and the last `TAIL` characters; a greeting is at most `GREETING_MAX`). No
pattern may backtrack over unbounded input: where two quantifiers meet over the
same characters the first is possessive (`*+`), so a failing match is given up at
once instead of trying every split ("hi" and 40,000 dots took seconds).
"""

from __future__ import annotations

import re

from bot.i18n.detect import greeting_languages

_GREETING = re.compile(
    r"^(hi+|hello+|hey+|hiya|howdy|yo|hallo|hola|bonjour|salut|ciao|greetings|good\s+"
    r"(morning|afternoon|evening|day))\b[\s,!.]*+(there|candor|team|all|folks|everyone)?[\s!.?]*+$",
    re.IGNORECASE,
)
_PERSON = (
    r"(?:a\s+|an\s+|some\s+|real\s+|actual\s+|the\s+|your\s+)*+"
    r"(person|human|someone|somebody|agent|representative|rep|operator|people|staff|support\s+team)"
)
_ASK_FOR_PERSON = re.compile(
    rf"(\b(talk|speak|chat|connect\s+me|put\s+me\s+through|get\s+me|transfer\s+me)\s+(to|with)"
    rf"\s+{_PERSON}\b)"
    rf"|(^\s*+(i\s+want\s+|i\s+need\s+|can\s+i\s+(have|get)\s+|give\s+me\s+)?{_PERSON}"
    r"(\s+please|\s+pls|\s+now)?[\s!.?]*+$)"
    r"|(\breal\s+person\b)|(\b(human|agent|person)\s+(please|pls)\b)",
    re.IGNORECASE,
)
_NOT_HELPFUL = re.compile(
    r"^\s*+(no|nope|nah)?[\s,.!]*+("
    r"(that|this|it)(\s+(did\s*n[o']?t|does\s*n[o']?t|is\s*n[o']?t|was\s*n[o']?t|is\s+not|was\s+not))"
    r"\s+(help|helpful|answer|what\s+i\s+(asked|meant|wanted))"
    r"|not\s+(what\s+i\s+(asked|meant|wanted)|helpful|it)"
    r"|(that|this|it)('s|\s+is|\s+was)\s+(wrong|not\s+(it|helpful|right|what\s+i\s+(asked|meant|wanted)))"
    r"|wrong\s+answer|useless\s+answer"
    r")\b",
    re.IGNORECASE,
)
# Words that judge something: frustration when said of the bot or the help, not when
# asked of a product ("is the free plan useless for a team of 10?").
_JUDGEMENT = re.compile(
    r"\b(useless|pointless|ridiculous|stupid|idiot(s|ic)?|dumb|rubbish|garbage|terrible|awful"
    r"|worst)\b",
    re.IGNORECASE,
)
# Frustration however it is put (swearing is never undone by a "not" before it).
_FRUSTRATED = re.compile(
    r"\b(waste\s+of\s+(my\s+)?time|wtf|fuck\w*|shit\w*|crap|damn|sick\s+of|fed\s+up"
    r"|not\s+listening|doesn'?t\s+understand|you\s+don'?t\s+understand|this\s+is\s+a\s+joke"
    r"|for\s+god'?s\s+sake|are\s+you\s+kidding)\b",
    re.IGNORECASE,
)
# "never", "don't", "no need to" … just before a request undo it ("I never want to
# talk to a person"); further away they are about something else ("this isn't
# working so I want to talk to a person").
_NEGATION = re.compile(
    r"\b(never|not|don'?t|doesn'?t|won'?t|wouldn'?t|without|no|rather|isn'?t|wasn'?t"
    r"|aren'?t|nor)\b",
    re.IGNORECASE,
)
NEGATION_REACH = 3  # words before a request or a judgement that a negation governs
_LOOKBACK = 64  # characters first read back for those words
_WORD = re.compile(r"[\w']+")
_CLAUSE_END = re.compile(r"[.!?;,:]|\b(but|just|only|so|and)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?]*[.!?]*")
# a judgement in a question is about the bot when the question is about it
_AT_THE_BOT = re.compile(
    r"\b(you|you'?re|your|why|this|the\s+(bot|support|help|service))\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\W*+(how|what|when|where|why|who|whom|whose|which|can|could|do|does|did|is|are|was"
    r"|were|will|would|should|shall|may|might|must|have|has|any|hw|wat)\b",
    re.IGNORECASE,
)
_NOT_SOLVED = re.compile(
    r"\b(still|again)\b.{0,60}?\b(need|help|broken|not|doesn'?t|isn'?t|won'?t|can'?t|issue"
    r"|problem|wrong|fail\w*)\b|\b(not|never)\s+(fixed|solved|resolved)\b",
    re.IGNORECASE,
)
# "what a useless answer", "how stupid is this": exclamations, not questions
_EXCLAMATION = re.compile(r"^\W*+(what\s+an?|how)\s+\w", re.IGNORECASE)


HEAD = 1_000  # characters at the start of a message that the checks read
TAIL = 300  # and at its end: a long message often ends with what the customer wants
GREETING_MAX = 200  # a message longer than this is more than a greeting


_GAP = "\n.\n"  # between the two: no sentence or clause spans it
SCANNED = HEAD + len(_GAP) + TAIL  # the most any check reads


def scanned(text: str) -> str:
    """The part of a message the checks read: all of it when short, else its first
    HEAD and last TAIL characters, with a sentence break between them. Work per
    message is bounded whatever it is; `scanned(scanned(t)) == scanned(t)`."""
    if len(text) <= SCANNED:
        return text
    return f"{text[:HEAD]}{_GAP}{text[-TAIL:]}"


def is_greeting(text: str) -> bool:
    if len(text) > GREETING_MAX:
        return False
    return bool(_GREETING.match(text)) or bool(greeting_languages(text.strip()))


def _words_before(text: str, start: int) -> list[str]:
    """The last NEGATION_REACH words before `start` in its clause: what
    `_WORD.findall(clause)[-NEGATION_REACH:]` gives, where the clause runs from the
    last clause end before `start`. Read back only as far as that needs (a window
    that grows), so that a check over many matches stays linear."""
    reach = _LOOKBACK
    while True:
        low = max(0, start - reach)
        ends = [found.end() for found in _CLAUSE_END.finditer(text, low, start)]
        if ends:  # the clause starts in the window
            return _WORD.findall(text, ends[-1], start)[-NEGATION_REACH:]
        found = _WORD.findall(text, low, start)
        # more words than needed: the first (perhaps cut at `low`) is not among the last
        if low == 0 or len(found) > NEGATION_REACH:
            return found[-NEGATION_REACH:]
        reach *= 4


def _negated(text: str, start: int) -> bool:
    """A negation among the few words just before `start`, in the same clause."""
    return any(_NEGATION.fullmatch(word) for word in _words_before(text, start))


def looks_like_question(text: str) -> bool:
    """Asked as a question: it ends with "?" or starts like one ("how long …"), and
    is not an exclamation ("what a useless answer")."""
    stripped = scanned(text).strip()
    if _EXCLAMATION.match(stripped) and not stripped.endswith("?"):
        return False
    return stripped.endswith("?") or bool(_QUESTION_START.match(stripped))


def wants_person(text: str) -> bool:
    """The customer asks, in words, for a person (not "I never want to talk to a
    person, just tell me the price")."""
    text = scanned(text)
    return any(not _negated(text, m.start()) for m in _ASK_FOR_PERSON.finditer(text))


def not_helpful(text: str) -> bool:
    """The customer says the last answer did not help."""
    return bool(_NOT_HELPFUL.match(scanned(text)))


def shouting(text: str) -> bool:
    """Mostly capitals, over enough letters to mean it (not "OK" or "VAT")."""
    text = scanned(text)
    exclaims = text.count("!") >= 4
    if not exclaims and (text.islower() or not any(ch.isupper() for ch in text)):
        return False  # most messages: no capital, nothing to count
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 12:
        return False
    upper = sum(1 for ch in letters if ch.isupper())
    return upper / len(letters) > 0.8 or exclaims


def not_solved(text: str) -> bool:
    """The problem is still there ("it still doesn't work", "I still need help")."""
    return bool(_NOT_SOLVED.search(scanned(text)))


def frustrated(text: str) -> bool:
    """Insults, swearing, "this is useless", or shouting; not a question about a
    product ("is the free plan useless for 10 people?") nor a judgement taken back
    ("not terrible")."""
    text = scanned(text)
    if _FRUSTRATED.search(text):
        return True
    if not _JUDGEMENT.search(text):  # the common case: no judging word at all
        return shouting(text)
    for found in _SENTENCE.finditer(text):
        sentence = found.group(0)
        question = looks_like_question(sentence) and not _EXCLAMATION.match(sentence)
        for judged in _JUDGEMENT.finditer(sentence):
            if _negated(sentence, judged.start()):
                continue
            if not question or _AT_THE_BOT.search(sentence[: judged.start()]):
                return True
    return shouting(text)


FEW_WORDS = 6  # "this is useless", "agent please", "that did not help": said, not asked


def substantive(text: str) -> bool:
    """Something the customer needs, not only a greeting, a request for a person,
    frustration or a verdict on an answer (what a summary's "Needs" and a draft's
    question are made of)."""
    if is_greeting(text):
        return False
    short = len(text[:200].split()) <= FEW_WORDS
    return not (short and (wants_person(text) or frustrated(text) or not_helpful(text)))
