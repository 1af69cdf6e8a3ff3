"""Which case a message belongs to: one case per customer, reopened when they write
about it again soon after it was resolved, a new one (linked to the old) when it
is something else or long after.

When a customer with a recently resolved case writes something that is plainly
about another topic, the bot asks (with buttons) whether it is about case #N or
something new; the message waits in the question's state (`AWAITING_REOPEN_CHOICE`,
its text kept on the case) and is handled on the case they choose.
"""

from __future__ import annotations

import re
from typing import Any

from bot.features import comeback, rating
from bot.i18n import _
from bot.knowledge.analysis import content_words, stem
from bot.model import Button, Case, CaseState, Conversation, EventKind, InboundKind
from bot.registry import Feature, pack
from bot.report import ReportData, ReportSection, line
from bot.signals import is_greeting
from bot.text import has_words, md_escape, shorten
from bot.turn import Turn

feature = Feature("cases")

SAME, NEW = pack("reopen", "same"), pack("reopen", "new")
# a whole message that answers "about case #N, or something new?" in words
_SAME_WORDS = re.compile(
    r"\s*+(yes|yeah|yep|same|the same|that one|about that|it is|that case"
    r"|ja|genau|sí|si|oui|sim)[\s.!]*+",
    re.I,
)
_NEW_WORDS = re.compile(
    r"\s*+(no|nope|new|something (else|new)|another( one)?|different|a new one"
    r"|nein|neu|non|não|nao)[\s.!]*+",
    re.I,
)
FOLLOW_UP_WORDS = 4  # a message with no topic of its own this short follows up the case


def substantive(turn: Turn) -> bool:
    """Does this reopen a resolved case (or open a new one)? Writing about
    something does; opening the chat, a greeting, commands and old buttons do not."""
    kind = turn.inbound.kind
    if kind is InboundKind.ATTACHMENT:
        return True
    if kind is not InboundKind.MESSAGE or not turn.text:
        return False
    if turn.command is None:
        return not is_greeting(turn.text)
    return turn.command[0] in ("human", "agent", "person")


async def settle(turn: Turn) -> bool:
    """Settle `turn.case`. Returns True when that is all the turn does (the bot asked
    whether the message is about the resolved case)."""
    latest = turn.latest
    if latest is None:
        turn.case, turn.case_was = await turn.tx.cases.new(turn.customer.id, turn.now), "new"
        return False
    turn.case = latest
    if latest.conversation is Conversation.AWAITING_REOPEN_CHOICE:
        return await _settle_the_choice(turn)
    if latest.state is not CaseState.RESOLVED or not substantive(turn):
        return False
    if rating.awaiting_comment(turn):
        return False  # the comment the bot asked for stays on the resolved case
    assert latest.resolved_at is not None
    if turn.now - latest.resolved_at > turn.settings.reopen_window:
        await _open_new(turn)
        return False
    if turn.command is not None or turn.inbound.kind is not InboundKind.MESSAGE:
        await _reopen(turn)
        return False
    if await about_it(turn, turn.text):
        await _reopen(turn)
        return False
    await turn.wait_for(Conversation.AWAITING_REOPEN_CHOICE, note=turn.text, lapses=False)
    subject = f" (“{md_escape(shorten(latest.subject, 60))}”)" if latest.subject else ""
    await turn.say_privately(
        _("Is this about your case #{case}{subject}, resolved on {when}, or something new?").format(
            case=latest.id, subject=subject, when=turn.when(latest.resolved_at)
        ),
        note="asked whether the message is about the resolved case",
        buttons=[
            Button(_("About case #{case}").format(case=latest.id), SAME),
            Button(_("Something new"), NEW),
        ],
    )
    return True


async def about_it(turn: Turn, text: str) -> bool:
    """Is `text` about the (resolved) case: an article the case already touched, a
    word of what the customer said on it, or too short to have a topic of its own?"""
    events = await turn.timeline(30)
    touched: set[str] = set()
    said = [turn.case.subject]
    for event in events:
        if event.kind is EventKind.ANSWER and event.data.get("article"):
            touched.add(str(event.data["article"]))
        elif event.kind is EventKind.CLARIFY:
            touched.update(str(a) for a in event.data.get("options", []))
        elif event.kind is EventKind.CUSTOMER and not event.data.get("command"):
            said.append(event.text)
    decision = turn.decide(text)
    if touched & {c.article.id for c in decision.candidates}:
        return True
    mine = {stem(w) for w in content_words(text)}
    before = {stem(w) for line in said for w in content_words(line)}
    if mine & before:
        return True
    return decision.kind == "unknown" and len(mine) <= FOLLOW_UP_WORDS


async def _reopen(turn: Turn) -> None:
    """The customer wrote again on the resolved case: it opens again, with the agent
    who had it when they are on duty, in the queue naming them when they are not,
    with the bot when no agent had it (`bot.features.comeback`)."""
    before = turn.case
    await turn.save_case(
        state=CaseState.BOT,
        resolved_at=None,
        agent="",
        unanswered=0,
        conversation=Conversation.NONE,
        conversation_until=None,
        conversation_note="",
    )
    await turn.record(EventKind.STATE, "reopened: the customer wrote again", actor="bot")
    turn.case_was = "reopened"
    if await comeback.to_a_person(turn, before):
        return
    if turn.case.handed_over_at is not None:  # its card on the desk says so (and opens)
        events = await turn.timeline(30)
        where = turn.address.channel
        turn.out += turn.desk.card(turn.case, turn.customer, where, events, update=True)


async def _open_new(turn: Turn) -> None:
    earlier: Case = turn.case
    if earlier.conversation is not Conversation.NONE:
        await turn.stop_waiting()
    turn.case = await turn.tx.cases.new(turn.customer.id, turn.now)
    turn.case_was = "new"
    await turn.record(EventKind.STATE, f"opened; the earlier case was #{earlier.id}", actor="bot")


async def _choose(turn: Turn, same: bool) -> str:
    """Act on the choice; returns the message that waited for it."""
    held = turn.case.conversation_note
    await turn.stop_waiting()
    if same:
        await _reopen(turn)
    else:
        await _open_new(turn)
    return held


async def _settle_the_choice(turn: Turn) -> bool:
    """The question "about case #N, or something new?" is answered by whatever the
    customer does next: a button, a plain yes or no, or anything else (about the
    resolved case if it plainly is, else something new). The message that waited
    is handled first, on the case chosen; then what they just sent, unless it was
    only the answer. Nothing else waits for an answer meanwhile."""
    inbound = turn.inbound
    if inbound.kind is InboundKind.BUTTON and inbound.payload in (SAME, NEW):
        return False  # the button's own route
    said = turn.text if inbound.kind is InboundKind.MESSAGE and turn.command is None else ""
    if said and (_SAME_WORDS.fullmatch(said) or _NEW_WORDS.fullmatch(said)):
        held = await _choose(turn, same=bool(_SAME_WORDS.fullmatch(said)))
        await turn.record(EventKind.CUSTOMER, said, choice=True)
        await turn.carry_on(held)
        return True
    same = bool(said) and await about_it(turn, said)
    await turn.carry_on(await _choose(turn, same=same))
    return False


@feature.button("reopen", str, on_resolved=True)
async def chosen(turn: Turn, fields: tuple[object, ...]) -> None:
    if turn.case.conversation is not Conversation.AWAITING_REOPEN_CHOICE:
        await turn.say_privately(
            _("That question has been settled already. Just write if you need something.")
        )
        return
    held = await _choose(turn, same=fields[0] == "same")
    await turn.carry_on(held)


def _cases(data: ReportData) -> dict[str, Any]:
    """ "The bot alone": resolved, never handed over, never taken or answered by a
    person (an agent may claim a case the bot has: that is not the bot alone); a
    case still open is not (yet) anyone's success, nor is one closed with no event
    of its own (merged into another by /link, its events moved there)."""
    handed_over = {e.case_id for e in data.events if e.kind is EventKind.HANDOVER}
    people = {e.case_id for e in data.events if e.kind in (EventKind.CLAIM, EventKind.AGENT)}
    involved = handed_over | people
    lived = {e.case_id for e in data.events}
    opened = len(data.cases)
    alone = sum(
        1
        for case in data.cases
        if case.state is CaseState.RESOLVED and case.id in lived and case.id not in involved
    )
    return {
        "cases_opened": opened,
        "cases_resolved": sum(1 for case in data.cases if case.state is CaseState.RESOLVED),
        "cases_handed_over": sum(1 for case in data.cases if case.id in handed_over),
        "bot_alone": alone,
        "bot_only_share": round(alone / opened, 4) if opened else None,
    }


def _cases_text(report: dict[str, Any]) -> list[str]:
    opened, share = int(report["cases_opened"]), report["bot_only_share"]
    alone = (
        "no cases in this period"
        if share is None
        else f"{share:.0%} ({report['bot_alone']} of {opened}: resolved, no person involved)"
    )
    return [
        "Cases",
        line("Opened", opened),
        line("Resolved", report["cases_resolved"]),
        line("Handed over to a person", report["cases_handed_over"]),
        line("Handled by the bot alone", alone),
    ]


feature.report_section(ReportSection("Cases", 10, _cases, _cases_text))


@feature.step("subject", order=65, when=lambda turn: not turn.case.subject)
async def subject(turn: Turn) -> bool:
    """The case is about the first thing the customer asks."""
    text = turn.text
    if has_words(text) and not is_greeting(text):
        await turn.save_case(subject=shorten(text, 120))
    return False
