"""Incidents reach those who wrote first.

When an incident is declared, the open cases and those resolved within the reopen
window whose customers' messages match it (the same matching as a new message's:
`concerns`, with the knowledge base's decision for `article:ID` words) are listed for
the agent on the desk: case number, channel, the first sentence of the message that
matched. The desk is the agents' room; the list is never posted where a customer is.
Those the agent confirms (`/incident notify N all`, `/incident notify N 12 15`, or
the list's button) are subscribed and told what a customer who writes about it now
is told, in their language, where they wrote last, as an incident notice: the
outbox's notice rules and holds (/mute, /quiet) apply, and the desk hears who was
skipped and why.

The scan is bounded: the newest `SCAN` such cases (the store filters by time); the
desk is told when it was cut.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from bot.desk.turn import DeskTurn
from bot.features import notices
from bot.i18n import _, speaking, spoken
from bot.knowledge.analysis import content_words, stem
from bot.model import Address, Button, Cause, Delivery, EventKind, Incident, Outbound
from bot.registry import pack
from bot.store import Transaction
from bot.text import md_escape, shorten, small_number
from bot.turn import Services

SCAN = 500  # the newest cases an incident's declaration looks at
SHOWN = 25  # the matches listed on the desk (all of them can be told)
_SENTENCE = re.compile(r"(?<=[.!?…。！？])\s")


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


@lru_cache(maxsize=8192)
def _wanted(phrase: str) -> frozenset[str]:
    """An incident's phrase, stemmed once: a declaration reads thousands of messages."""
    return frozenset(_stems(phrase))


def concerns(incident: Incident, text: str, articles: Collection[str] = ()) -> bool:
    """Does a customer's message concern the incident? Each of its words (a phrase
    counts when all of its words are there) is looked for among the message's
    stemmed words; `article:ID` matches when the knowledge base would offer that
    article for the message (`articles`). An incident without words matches on
    what is affected."""
    said = _stems(text)
    if not said:
        return False
    for phrase in phrases(incident):
        if phrase.startswith("article:"):
            if phrase[len("article:") :].strip() in articles:
                return True
            continue
        wanted = _wanted(phrase)
        if wanted and wanted <= said:
            return True
    return False


def phrases(incident: Incident) -> tuple[str, ...]:
    """What a message is matched with: the incident's words, else what it affects."""
    return incident.words or tuple(p.strip() for p in incident.affected.split(",") if p.strip())


def describe(incident: Incident, when: str) -> str:
    """What a customer is told about an incident."""
    affected = (
        " " + _("It affects {affected}.").format(affected=md_escape(incident.affected))
        if incident.affected
        else ""
    )
    latest = " " + (
        _("Latest update ({when}): {text}").format(when=when, text=md_escape(incident.latest))
        if incident.latest
        else _("The team is looking into it now.")
    )
    known = _("Known problem: {title}.").format(title=md_escape(incident.title))
    return f"⚠️ **{known}**{affected}{latest}"


def first_notice(incident: Incident, when: str, page: str) -> str:
    """What a customer who writes about an incident is told first (in the language
    spoken now); `page`: the public status page ("": none)."""
    live = " " + _("Every update is also on {page}").format(page=md_escape(page)) if page else ""
    return (
        describe(incident, when)
        + "\n\n"
        + _(
            "I'll tell you here when there is news and when it's fixed; you don't need"
            " to ask again."
        )
        + live
    )


def excerpt(text: str) -> str:
    """The first sentence of a message, short, for the desk."""
    first = _SENTENCE.split(text.strip(), maxsplit=1)[0]
    return md_escape(shorten(" ".join(first.split()), 90))


@dataclass(frozen=True, slots=True)
class Match:
    case_id: int
    customer_id: int
    state: str
    channel: str  # where they wrote last ("": no address any more)
    said: str  # the first sentence of the message that matched (escaped)


async def matches(
    tx: Transaction, services: Services, incident: Incident, now: datetime
) -> tuple[list[Match], bool]:
    """The cases written before `incident` that concern it, whose customers are not
    subscribed to it yet, newest first; and whether the scan was cut at `SCAN`."""
    rows = await tx.incidents.cases_since(now - services.settings.reopen_window, SCAN + 1)
    cut, rows = len(rows) > SCAN, rows[:SCAN]
    passed = set(await tx.incidents.subscribers(incident.id))  # following it, or listed
    by_article = any(p.startswith("article:") for p in phrases(incident))
    found: list[Match] = []
    for row in rows:
        if row.customer_id in passed or not row.words:
            continue  # (a customer listed for a newer case is not listed again)
        language = "en"
        if by_article:  # the knowledge base's decision, in the customer's language
            customer = await tx.customers.get(row.customer_id)
            language = spoken(customer.language if customer else "", services.settings.languages)
        for text in row.words:
            articles: set[str] = set()
            if by_article:
                decision = services.decide(text, language)
                articles = {c.article.id for c in (*decision.candidates, *decision.also)}
            if concerns(incident, text, articles):
                address = await tx.customers.address_of(row.customer_id)
                channel = address.channel if address else ""
                found.append(Match(row.case_id, row.customer_id, row.state, channel, excerpt(text)))
                passed.add(row.customer_id)
                break
    return found, cut


def offer(
    incident: Incident, found: Sequence[Match], cut: bool, window_hours: float
) -> tuple[str, list[Button]]:
    """The desk's list of the cases that wrote first, and its button."""
    scope = f"open, or resolved in the last {window_hours:g} h"
    limit = f" Only the newest {SCAN} cases were looked at; older ones were not." if cut else ""
    if not found:
        return f"No earlier case ({scope}) matches incident #{incident.id}.{limit}", []
    lines = [
        f"#{m.case_id} · {m.channel or 'no address (erased)'} · {m.state} · “{m.said}”"
        for m in found[:SHOWN]
    ]
    if len(found) > SHOWN:
        lines.append(f"… and {len(found) - SHOWN} more.")
    some = " ".join(str(m.case_id) for m in found[:2])
    text = (
        f"**{len(found)} case{'s' if len(found) != 1 else ''} ({scope}) wrote about"
        f" incident #{incident.id} before it was declared:**\n"
        + "\n".join(lines)
        + f"\nTell them and follow them: /incident notify {incident.id} all, or some:"
        f" /incident notify {incident.id} {some}.{limit}"
    )
    return text, [Button(f"Tell all {len(found)}", pack("incident", "all", incident.id))]


def chosen(spec: str) -> tuple[list[int] | None, list[str]]:
    """`all` (None) or the case numbers named, and the words that are not numbers."""
    words = spec.split()
    if [w.lower() for w in words] == ["all"]:
        return None, []
    numbers = [small_number(w.lstrip("#")) for w in words]
    return [n for n in numbers if n is not None], [
        w for w, n in zip(words, numbers, strict=True) if n is None
    ]


async def confirm(turn: DeskTurn, incident: Incident, spec: str) -> None:
    """Subscribe and tell the cases the agent chose of those that wrote first."""
    wanted, bad = chosen(spec)
    if not spec.strip() or bad or wanted == []:
        said = ", ".join(shorten(w, 20) for w in dict.fromkeys(bad[:3]))
        named = f" ({md_escape(said)}{', …' if len(bad) > 3 else ''} is not a case number)"
        named = named if bad else ""
        turn.answer(
            f"Which cases?{named} /incident notify {incident.id} all, or their numbers:"
            f" /incident notify {incident.id} 12 15."
        )
        return
    found, cut = await matches(turn.tx, turn.services, incident, turn.now)
    by_case = {m.case_id: m for m in found}
    refused = list(dict.fromkeys(n for n in wanted or () if n not in by_case))
    picked = list(found) if wanted is None else [by_case[n] for n in wanted if n in by_case]
    told: list[int] = []
    skipped: list[str] = []
    held: list[int] = []
    rooms: set[Address] = set()  # shared rooms told already: once each
    for match in dict.fromkeys(picked):
        why = await _tell(turn, incident, match, held, rooms)
        if why:
            skipped.append(f"#{match.case_id} ({why})")
        else:
            told.append(match.case_id)
    turn.answer(_confirmed(incident, told, skipped, held, refused, cut))


async def _tell(
    turn: DeskTurn, incident: Incident, match: Match, held: list[int], rooms: set[Address]
) -> str:
    """Tell one customer (appending to `held` if their notices wait; a shared room in
    `rooms` is not told again): "" or why not."""
    tx, settings = turn.tx, turn.services.settings
    customer = await tx.customers.get(match.customer_id)
    address = await tx.customers.address_of(match.customer_id)
    if customer is None or address is None:
        return "their data was erased (/forget): no address"
    if not await tx.incidents.subscribe(incident.id, customer.id, turn.now):
        return "already following it"
    language = spoken(customer.language, settings.languages)
    with speaking(language):
        text = first_notice(
            incident,
            turn.services.when(incident.latest_at or incident.opened_at),
            settings.status_url,
        )
    message = Outbound(
        address=address,
        text=text,
        cause=Cause.INCIDENT,
        customer_id=customer.id,
        delivery=Delivery(incident=incident.id, language=language),
    )
    await tx.timeline.append(
        match.case_id, EventKind.BOT, "bot", f"told of incident #{incident.id}", turn.now
    )
    if address in rooms:
        return ""  # their shared room heard it just now, with another customer's notice
    if not address.private:
        rooms.add(address)
    local = turn.now.astimezone(ZoneInfo(settings.timezone))
    if await notices.hold(tx, message, local) is not None:
        held.append(match.case_id)
    turn.out.append(message)
    return ""


def _confirmed(
    incident: Incident,
    told: Sequence[int],
    skipped: Sequence[str],
    held: Sequence[int],
    refused: Sequence[int],
    cut: bool,
) -> str:
    def cases(numbers: Sequence[int]) -> str:  # (a pasted list of thousands: the first)
        more = f" and {len(numbers) - SHOWN} more" if len(numbers) > SHOWN else ""
        return ", ".join(f"#{n}" for n in numbers[:SHOWN]) + more

    if not (told or held or skipped or refused):
        return (
            f"Incident #{incident.id}: nobody is left to tell: the cases that wrote about it"
            " have all been told already."
        )
    parts = [
        f"Incident #{incident.id}: told and subscribed {len(told)}"
        f" customer{'s' if len(told) != 1 else ''}{(' (' + cases(told) + ')') if told else ''}."
    ]
    if held:
        parts.append(
            f"{cases(held)}: their notices are paused (/mute or /quiet hours); it comes"
            " when that ends."
        )
    if skipped:
        parts.append("Not told: " + "; ".join(skipped) + ".")
    if refused:
        parts.append(
            f"Refused: {cases(refused)}: not among the cases that wrote about it"
            " (unknown, not matching, outside the window, or already told)."
        )
    if cut:
        parts.append(f"Only the newest {SCAN} cases were looked at.")
    return " ".join(parts)
