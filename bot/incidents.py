"""Incidents: agents declare what is wrong; customers who write about it hear of it
at once and are told of every update until it is fixed.

Desk commands (`!` instead of `/` on Slack):

    /incident TITLE | WHAT IS AFFECTED | word, word, ...   declare one
                  (article:ID among the words: questions that article answers)
    /incident update N TEXT                                   post an update
    /incident resolve N [TEXT]                                it is fixed
    /incidents                                                the open ones
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.knowledge.analysis import content_words, stem
from bot.model import Address, Cause, Incident, Outbound
from bot.store import Transaction
from bot.text import md_escape, shorten, small_number

USAGE = (
    "Incidents: /incident TITLE | WHAT IS AFFECTED | word, word (the words customers"
    " would use); /incident update N TEXT; /incident resolve N [TEXT]; /incidents."
)


@dataclass(frozen=True, slots=True)
class IncidentCommand:
    action: str  # "open", "update", "resolve", "list", "usage"
    number: int | None = None
    title: str = ""
    affected: str = ""
    words: tuple[str, ...] = ()
    text: str = ""


def parse(args: str) -> IncidentCommand:
    """The arguments of /incident."""
    words = args.split(None, 2)
    if not words:
        return IncidentCommand("list")
    verb = words[0].lower()
    if verb in ("update", "resolve", "fixed"):
        number = small_number(words[1].lstrip("#")) if len(words) > 1 else None
        if number is None:
            return IncidentCommand("usage")
        text = words[2].strip() if len(words) > 2 else ""
        if verb == "update" and not text:
            return IncidentCommand("usage")
        return IncidentCommand("update" if verb == "update" else "resolve", number, text=text)
    parts = [p.strip() for p in args.split("|")]
    title = parts[0]
    if not title:
        return IncidentCommand("usage")
    affected = parts[1] if len(parts) > 1 else ""
    found = parts[2] if len(parts) > 2 else ""
    listed = tuple(w.strip() for w in found.split(",") if w.strip())
    return IncidentCommand("open", title=title, affected=affected, words=listed)


def _stems(text: str) -> set[str]:
    return {stem(w) for w in content_words(text)}


def concerns(incident: Incident, text: str, articles: Collection[str] = ()) -> bool:
    """Does a customer's message concern the incident? Each of its words (a phrase
    counts when all of its words are there) is looked for among the message's
    stemmed words; `article:ID` matches when the knowledge base would offer that
    article for the message (`articles`). An incident without words matches on
    what is affected."""
    said = _stems(text)
    if not said:
        return False
    phrases = incident.words or tuple(p.strip() for p in incident.affected.split(",") if p.strip())
    for phrase in phrases:
        if phrase.startswith("article:"):
            if phrase[len("article:") :].strip() in articles:
                return True
            continue
        wanted = _stems(phrase)
        if wanted and wanted <= said:
            return True
    return False


def describe(incident: Incident, when: str) -> str:
    """What a customer is told about an incident."""
    affected = f" It affects {md_escape(incident.affected)}." if incident.affected else ""
    latest = (
        f" Latest update ({when}): {md_escape(incident.latest)}"
        if incident.latest
        else " The team is looking into it now."
    )
    return f"⚠️ **Known problem: {md_escape(incident.title)}.**{affected}{latest}"


async def notify(tx: Transaction, incident: Incident, text: str, now: datetime) -> list[Outbound]:
    """The same notice to every subscriber, on the channel they used last."""
    out = []
    for customer_id in await tx.incidents.subscribers(incident.id):
        address: Address | None = await tx.customers.address_of(customer_id)
        if address is None:
            continue
        out.append(
            Outbound(
                address=address,
                text=text,
                cause=Cause.INCIDENT,
                customer_id=customer_id,
                meta={"incident": incident.id, "notice": True},
            )
        )
    return out


def listing(incidents: Sequence[Incident], when: object) -> str:
    if not incidents:
        return "No open incidents."
    lines = [
        f"#{i.id} · {md_escape(i.title)} · {md_escape(shorten(i.affected, 60))}"
        f" · words: {md_escape(', '.join(i.words) or '(none)')}"
        for i in incidents
    ]
    return "**Open incidents:**\n" + "\n".join(lines)
