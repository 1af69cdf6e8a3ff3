"""The handover summary, from the whole of a case's timeline, in the desk's words
(English): what the customer needs, the facts they gave, what the bot gave and
whether it helped, what is still open, their mood when it matters, their language.

Only the case's own events are read, and of them only the customer's words and
the bot's answers (never a person's reply nor an internal note). Everything the
customer wrote is Markdown-escaped; a long message is its first sentence and "…"
(the card says where the whole of it is). `for_customer` shows the same summary
with its headings, labels and the bot's own words in the customer's language,
their words as they are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.i18n import ENGLISH, LANGUAGE_NAMES, N_, NAMES, _, ngettext
from bot.model import Case, Customer, Event, EventKind
from bot.signals import frustrated, not_helpful, scanned, substantive
from bot.summary import facts
from bot.text import md_escape, shorten

SENTENCE = 200  # characters of a message's first sentence shown at most
OPEN_MOST = 3  # open questions listed (the first ones)
GAVE_MOST = 6  # articles listed (the last ones given)
REOPENED = "reopened: the customer wrote again"  # the event `features.cases` records

NOTHING_YET = N_("• Needs: nothing said yet, only asked for a person")
NEEDS = N_("• Needs:")
FACTS = N_("• Facts:")
GAVE = N_("• The bot gave:")
OPEN = N_("• Still open:")
MOOD = N_("• Mood:")
IN_THEIR_WORDS = N_("• In their words:")
ADDED = N_("• They added:")
# The headings in the order they are tried: a longer one before the one it starts with.
HEADINGS = (NOTHING_YET, NEEDS, FACTS, GAVE, OPEN, MOOD, IN_THEIR_WORDS, ADDED)
NOT_HELPED = N_("said it did not help")
HELPED = N_("said it helped")
MOODS = {"frustrated": N_("frustrated"), "urgent": N_("urgent")}

_URGENT = re.compile(
    r"\b(urgent(?:e|ly)?|asap|as\ssoon\sas\spossible|right\snow|immediately|emergency"
    r"|dringend|sofort|eilig|lo\santes\sposible|cuanto\santes|inmediatamente|au\splus\svite"
    r"|imm[ée]diatement|o\smais\sr[áa]pido|imediatamente)\b",
    re.IGNORECASE,
)
_LEADING_GREETING = re.compile(
    r"^(?:hi|hello|hey|hallo|hola|bonjour|salut|ol[áa]|oi|guten\stag|buenos\sd[íi]as|bom\sdia)"
    r"\b[\s,!.:;-]{0,5}",
    re.IGNORECASE,
)
# a sentence ends at "!", "?", "…", or at "." not followed by a digit or a small letter
# ("Nr. 2026", "e.g. this")
_FIRST_SENTENCE = re.compile(
    rf"[^\n]{{1,{SENTENCE}}}?(?:(?:[!?…]|\.(?!\s{{1,9}}[\da-zäöüéèáíóúçñ]))(?=\s)|$|\n)"
)


@dataclass
class _Reading:
    """What a walk through the timeline found."""

    needs: str = ""
    gave: dict[str, tuple[str, str]] = field(default_factory=dict)  # article → title, verdict
    open: list[str] = field(default_factory=list)
    unknown: int = 0
    in_a_row: int = 0  # of them since the bot last answered (what a handover's reason counts)
    moods: set[str] = field(default_factory=set)
    words: list[tuple[str, datetime]] = field(default_factory=list)  # for the facts


def summarise(case: Case, customer: Customer, events: Sequence[Event]) -> str:
    """The summary of the case whose whole timeline is `events`."""
    read = _read(events, customer.language or ENGLISH)
    lines = [f"{NEEDS} “{read.needs}”" if read.needs else NOTHING_YET]
    found = facts.extract(read.words)
    if found:
        lines.append(f"{FACTS} {md_escape(facts.line(found))}")
    if read.gave:
        gave = list(read.gave.values())
        given = "; ".join(
            f"“{md_escape(title)}”" + (f" — {verdict}" if verdict else "")
            for title, verdict in gave[-GAVE_MOST:]
        )
        more = len(gave) - GAVE_MOST
        lines.append(f"{GAVE} " + (f"(+{more}) " * (more > 0)) + given)
    still = [q for q in read.open if q != read.needs]  # (what they need is open too)
    if still:
        shown = still[:OPEN_MOST]
        more = len(still) - len(shown)
        lines.append(f"{OPEN} " + "; ".join(f"“{q}”" for q in shown) + (f" (+{more})" * bool(more)))
    if read.unknown:
        row = f" (the last {read.in_a_row} in a row)" * (1 < read.in_a_row < read.unknown)
        lines.append(
            f"• The bot could not answer {read.unknown} question{'s' * (read.unknown > 1)}{row}"
        )
    if read.moods:
        lines.append(f"{MOOD} " + ", ".join(m for m in MOODS if m in read.moods))
    if customer.language and customer.language != ENGLISH:  # (the desk reads English)
        language = customer.language
        lines.append(f"• Language: {LANGUAGE_NAMES.get(language, language)} ({language})")
    return "\n".join(lines)


def _read(events: Sequence[Event], language: str) -> _Reading:
    from bot.features.followups import read as reply_to  # (it imports the handover)

    read = _Reading()
    pending = ""  # the customer's last question the bot has not replied to yet
    answered = ""  # the article the bot answered with last, until the customer replies
    for event in events:
        if event.kind in (EventKind.CUSTOMER, EventKind.EDIT) and event.text:
            if event.data.get("button") or event.data.get("comment"):
                continue
            text = event.text
            read.words.append((text, event.at))
            if frustrated(text):
                read.moods.add("frustrated")
            if _URGENT.search(scanned(text)):
                read.moods.add("urgent")
            if event.data.get("command"):
                continue
            if answered:
                verdict = _verdict(text, reply_to(text, language)[0])
                title, before = read.gave[answered]
                read.gave[answered] = (title, verdict or before)
                answered = ""
                if verdict:
                    continue
            if substantive(text):
                pending = first_sentence(text)
                read.needs = read.needs or pending
        elif event.kind is EventKind.ANSWER and event.data.get("article"):
            article = str(event.data["article"])
            read.gave.setdefault(article, (event.text, ""))
            answered, pending = article, ""
            read.in_a_row = 0
        elif event.kind in (EventKind.HANDOVER, EventKind.STATE):
            read.in_a_row = 0  # (counted afresh, as `Case.unanswered` is)
            if event.text.startswith(REOPENED):  # what it needs now, not what it needed
                read.needs, read.open, pending, answered = "", [], "", ""
        elif event.kind is EventKind.UNKNOWN:
            read.unknown += 1
            read.in_a_row += 1
            if pending and pending not in read.open:
                read.open.append(pending)
            pending = ""
    if pending and pending not in read.open:  # the question the handover came with
        read.open.append(pending)
    return read


def _verdict(text: str, said: str) -> str:
    """Whether the reply right after an answer says it helped."""
    if said in ("unhelpful", "no") or not_helpful(text):
        return NOT_HELPED
    if said in ("thanks", "yes"):
        return HELPED
    return ""


def first_sentence(text: str) -> str:
    """The first sentence of `text` (after a greeting), escaped, "…" when there is
    more; a very short one takes the next sentence along."""
    rest = _LEADING_GREETING.sub("", text[:2_000].strip()) or text.strip()
    found = _FIRST_SENTENCE.match(rest)
    first = found.group(0).strip() if found else rest[:SENTENCE]
    if len(first) < 25 and found:
        more = _FIRST_SENTENCE.match(rest, found.end())
        if more:
            first = f"{first} {more.group(0).strip()}"
    first = shorten(first, SENTENCE)
    if " ".join(rest.split()) == " ".join(first.split()) or first.endswith("…"):
        return md_escape(first)
    return md_escape(first.removesuffix(".")) + ("…" if first.endswith(".") else " …")


# -- the customer's view ---------------------------------------------------------------

_LANGUAGE = re.compile(r"• Language: .{1,40} \(([a-z]{2,3})\)$")
_COULD_NOT = re.compile(
    r"• The bot could not answer (\d{1,9}) questions?(?: \(the last \d{1,9} in a row\))?$"
)
_LABEL = {english: english for english in facts.LABELS.values()}


def for_customer(summary: str) -> str:
    """The summary with its headings in the customer's language (their words as they are)."""
    lines = []
    for line in summary.split("\n"):
        for heading in HEADINGS:
            if line.startswith(heading):
                line = _(heading) + _translated_rest(heading, line[len(heading) :])
                break
        else:
            line = _other_line(line)
        lines.append(line)
    return "\n".join(lines)


def _translated_rest(heading: str, rest: str) -> str:
    """After a heading, the bot's own words translated: fact labels and the billing
    period, whether an answer helped, the moods."""
    if heading == FACTS:
        parts = []
        for part in rest.strip().split(" · "):
            label, sep, value = part.partition(": ")
            if sep and label in _LABEL:
                value = "; ".join(  # (several values: each of the bot's own words)
                    _(facts.BILLING[v]) if v in facts.BILLING else v for v in value.split("; ")
                )
                part = f"{_(label)}: {value}"
            parts.append(part)
        return " " + " · ".join(parts)
    if heading == GAVE:
        return rest.replace(f" — {NOT_HELPED}", f" — {_(NOT_HELPED)}").replace(
            f" — {HELPED}", f" — {_(HELPED)}"
        )
    if heading == MOOD:
        words = [w.strip() for w in rest.split(",")]
        return " " + ", ".join(_(MOODS[w]) if w in MOODS else w for w in words)
    return rest


def _other_line(line: str) -> str:
    spoken = _LANGUAGE.match(line)
    if spoken:
        return _("• Language: {language}").format(
            language=NAMES.get(spoken.group(1), spoken.group(1))
        )
    found = _COULD_NOT.match(line)
    if found:
        count = int(found.group(1))
        return ngettext(
            "• The bot could not answer {count} question",
            "• The bot could not answer {count} questions",
            count,
        ).format(count=count)
    return line
