"""What a customer's words signal, beyond the question itself: a greeting, a
request for a person, frustration, or that an answer did not help.

Deliberately conservative: a false "you seem frustrated" is irritating, and a
missed request for a person is cheap to correct (/human always works).
"""

from __future__ import annotations

import re

_GREETING = re.compile(
    r"^(hi+|hello+|hey+|hiya|howdy|yo|hallo|hola|bonjour|salut|ciao|greetings|good\s+"
    r"(morning|afternoon|evening|day))\b[\s,!.]*(there|candor|team|all|folks|everyone)?[\s!.?]*$",
    re.IGNORECASE,
)
_PERSON = (
    r"(a\s+|an\s+|some\s+|real\s+|actual\s+|the\s+|your\s+)*"
    r"(person|human|someone|somebody|agent|representative|rep|operator|people|staff|support\s+team)"
)
_ASK_FOR_PERSON = re.compile(
    rf"(\b(talk|speak|chat|connect\s+me|put\s+me\s+through|get\s+me|transfer\s+me)\s+(to|with)"
    rf"\s+{_PERSON}\b)"
    rf"|(^\s*(i\s+want\s+|i\s+need\s+|can\s+i\s+(have|get)\s+|give\s+me\s+)?{_PERSON}"
    r"(\s+please|\s+pls|\s+now)?[\s!.?]*$)"
    r"|(\breal\s+person\b)|(\b(human|agent|person)\s+(please|pls)\b)",
    re.IGNORECASE,
)
_NOT_HELPFUL = re.compile(
    r"^\s*(no|nope|nah)?[\s,.!]*("
    r"(that|this|it)(\s+(did\s*n[o']?t|does\s*n[o']?t|is\s*n[o']?t|was\s*n[o']?t|is\s+not|was\s+not))"
    r"\s+(help|helpful|answer|what\s+i\s+(asked|meant|wanted))"
    r"|not\s+(what\s+i\s+(asked|meant|wanted)|helpful|it)"
    r"|(that|this|it)('s|\s+is|\s+was)\s+(wrong|not\s+(it|helpful|right|what\s+i\s+(asked|meant|wanted)))"
    r"|wrong\s+answer|useless\s+answer"
    r")\b",
    re.IGNORECASE,
)
_FRUSTRATED = re.compile(
    r"\b(useless|pointless|ridiculous|stupid|idiot(s|ic)?|dumb|rubbish|garbage|terrible|awful"
    r"|worst|waste\s+of\s+(my\s+)?time|wtf|fuck\w*|shit\w*|crap|damn|sick\s+of|fed\s+up"
    r"|not\s+listening|doesn'?t\s+understand|you\s+don'?t\s+understand|this\s+is\s+a\s+joke"
    r"|for\s+god'?s\s+sake|are\s+you\s+kidding)\b",
    re.IGNORECASE,
)


def is_greeting(text: str) -> bool:
    return bool(_GREETING.match(text))


def wants_person(text: str) -> bool:
    """The customer asks, in words, for a person."""
    return bool(_ASK_FOR_PERSON.search(text))


def not_helpful(text: str) -> bool:
    """The customer says the last answer did not help."""
    return bool(_NOT_HELPFUL.search(text))


def shouting(text: str) -> bool:
    """Mostly capitals, over enough letters to mean it (not "OK" or "VAT")."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 12:
        return False
    upper = sum(1 for ch in letters if ch.isupper())
    return upper / len(letters) > 0.8 or text.count("!") >= 4


def frustrated(text: str) -> bool:
    """Insults, swearing, "this is useless", or shouting."""
    return bool(_FRUSTRATED.search(text)) or shouting(text)
