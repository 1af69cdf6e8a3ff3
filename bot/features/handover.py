"""Handing a case to a person: on request, when the bot cannot help, or when the
customer is frustrated. The customer sees the summary first and sends it, adds to
it or cancels; then the case waits in the queue with a card on every desk, and
what the customer writes goes to the person (the bot does not talk over them).

States: `AWAITING_SUMMARY_CHOICE` while the summary is shown (questions are still
answered meanwhile), `ADDING_TO_SUMMARY` after "Add something" (the next text goes
into the summary, and only then).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.i18n import N_, _
from bot.model import Button, Case, CaseState, Conversation, Customer, Event, EventKind, Purpose
from bot.registry import Feature, pack
from bot.report import ReportData, ReportSection, counted
from bot.signals import frustrated, not_helpful, wants_person
from bot.summary import build
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("handover")

ASKED_FOR_PERSON = "the customer asked for a person"
REOPENED_WAS_WITH = "reopened: was with "  # + the agent's name (bot/features/comeback.py)
HUMAN = pack("human")  # a "Talk to a person" button
SEND, ADD, CANCEL = (pack("handover", choice) for choice in ("send", "add", "cancel"))
OFFERED = (Conversation.AWAITING_SUMMARY_CHOICE, Conversation.ADDING_TO_SUMMARY)


def summarise(case: Case, customer: Customer, events: Sequence[Event]) -> str:
    """What the bot will pass on, from the case's whole timeline `events`: what the
    customer needs, the facts they gave, what the bot gave and whether it helped,
    what is still open, their mood and language (bot/summary/build.py)."""
    return build.summarise(case, customer, events)


# The summary's headings: written in English (what the desk reads), shown to the
# customer in their language (`for_customer`).
HEADINGS = build.HEADINGS


def for_customer(summary: str) -> str:
    """The summary with its headings, fact labels and the bot's own words in the
    customer's language (their words as they are)."""
    return build.for_customer(summary)


def offered(turn: Turn) -> bool:
    """A summary is shown and not yet sent, cancelled or lapsed."""
    return bool(turn.case.pending_reason) and turn.waiting_for(*OFFERED)


# -- proposing ---------------------------------------------------------------------------


async def propose(turn: Turn, reason: str, *, opening: str = "", extra: str = "") -> None:
    """Show the summary the bot will pass on; the customer sends it or adds to it."""
    if turn.case.state is not CaseState.BOT:
        await relay(turn, turn.text)
        return
    events = await turn.tx.timeline.whole(turn.case.id)
    draft = summarise(turn.case, turn.customer, events)
    if extra:
        draft += f"\n{build.IN_THEIR_WORDS} “{md_escape(shorten(extra, 300))}”"
    await turn.save_case(pending_reason=reason, draft_summary=draft)
    await turn.wait_for(Conversation.AWAITING_SUMMARY_CHOICE)
    await show_draft(turn, opening)


async def show_draft(turn: Turn, opening: str = "") -> None:
    lead = f"{opening}\n\n" if opening else ""
    summary = for_customer(turn.case.draft_summary)
    await turn.say_privately(
        lead
        + _("This is what I will pass on to a person:")
        + f"\n\n{summary}\n\n"
        + _("Send it as it is, or add something first?"),
        note="showed the summary for a person",
        buttons=[
            Button(_("Send it"), SEND),
            Button(_("Add something"), ADD),
            Button(_("Cancel"), CANCEL),
        ],
        summary=turn.case.draft_summary,
    )


async def hand_over(turn: Turn) -> None:
    """The customer confirmed: into the queue, a card on the desk, and the truth
    about the wait."""
    if turn.case.state is not CaseState.BOT:
        await relay(turn, "")
        return
    case = turn.case
    reason = case.pending_reason or ASKED_FOR_PERSON
    summary = case.draft_summary or summarise(
        case, turn.customer, await turn.tx.timeline.whole(case.id)
    )
    await turn.save_case(
        state=CaseState.WAITING,
        handover_reason=reason,
        handed_over_at=turn.now,
        summary=summary,
        pending_reason="",
        draft_summary="",
        alerted_at=None,
        unanswered=0,
        conversation=Conversation.NONE,
        conversation_until=None,
        conversation_note="",
    )
    await turn.record(EventKind.HANDOVER, reason, actor="bot", summary=summary)
    turn.out += await turn.desk.handed_over(
        turn.tx, turn.case, turn.customer, turn.address.channel, await turn.timeline(30)
    )
    await turn.say(
        _(
            "Done: case #{case} is with the people at {company}, with that summary and"
            " everything you've told me."
        ).format(case=turn.case.id, company=turn.settings.company)
        + " "
        + await turn.desk.waiting_words(turn.tx, turn.case, turn.now),
        note="told the customer their place in the queue",
    )


async def relay(turn: Turn, text: str) -> None:
    """While a person has (or will have) the case, what the customer writes goes
    to the desk; the bot does not talk over the person."""
    case = turn.case
    if text:
        turn.to_desk(f"**{md_escape(turn.name or 'Customer')}:** {md_escape(text)}", Purpose.RELAY)
    if case.state is CaseState.WAITING:
        await turn.say(
            _("Added to case #{case}.").format(case=case.id)
            + " "
            + await turn.desk.waiting_words(turn.tx, case, turn.now),
            note="added to the case while waiting",
        )


# -- commands and buttons ----------------------------------------------------------------


@feature.command("human", aliases=("agent", "person"), help=N_("hand your case to a person"))
async def human(turn: Turn, args: str) -> None:
    if args and not turn.case.subject:
        await turn.save_case(subject=shorten(args, 120))
    if offered(turn):
        await hand_over(turn)
    else:
        await propose(turn, ASKED_FOR_PERSON, extra=args)


@feature.button("human")
async def human_pressed(turn: Turn, fields: tuple[object, ...]) -> None:
    await propose(turn, ASKED_FOR_PERSON)


@feature.button("handover", str)
async def choice(turn: Turn, fields: tuple[object, ...]) -> None:
    (picked,) = fields
    if picked == "send":
        await hand_over(turn)
    elif picked == "add":
        if offered(turn):
            await turn.wait_for(Conversation.ADDING_TO_SUMMARY)
            await turn.say(
                _("Type what you'd like to add, and I'll put it in the summary."),
                note="asked what to add",
            )
        else:
            await turn.say_privately(
                _("There's nothing waiting to be sent. Type /human for a person.")
            )
    elif picked == "cancel":
        await turn.save_case(pending_reason="", draft_summary="")
        await turn.stop_waiting()
        await turn.say(
            _("All right, I won't pass it on. Ask me anything, or type /human at any time."),
            note="the customer cancelled the handover",
        )
    else:
        await turn.say_privately(
            _("That button is no longer active. Type your question, or /help.")
        )


# -- the report ----------------------------------------------------------------------------


def reason_kind(reason: str) -> str:
    """A handover's reason as the report counts it: one reason however many agents a
    reopened case was with ("reopened: was with Maria" is "reopened: was with an agent
    not on duty"; who had it is in the per-agent figures)."""
    if reason.startswith(REOPENED_WAS_WITH):
        return REOPENED_WAS_WITH + "an agent not on duty"
    return reason or "no reason given"


def _reasons(data: ReportData) -> dict[str, Any]:
    reasons = Counter(reason_kind(e.text) for e in data.events if e.kind is EventKind.HANDOVER)
    return {
        "handovers_by_reason": [
            {"reason": reason, "count": count}
            for reason, count in sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
        ]
    }


def _reasons_text(report: dict[str, Any]) -> list[str]:
    rows = [(r["reason"], int(r["count"])) for r in report["handovers_by_reason"]]
    return ["Handovers by reason", *(counted(rows) if rows else ["  no handovers"])]


feature.report_section(ReportSection("Handovers by reason", 20, _reasons, _reasons_text))


# -- steps of the message pipeline -------------------------------------------------------


@feature.step(
    "relay to the person",
    order=60,
    when=lambda turn: turn.case.state in (CaseState.WAITING, CaseState.AGENT),
)
async def relay_step(turn: Turn) -> bool:
    await relay(turn, turn.text)
    return True


def _adding(turn: Turn) -> bool:
    return offered(turn) and turn.waiting_for(Conversation.ADDING_TO_SUMMARY)


@feature.step("add to the summary", order=70, when=_adding)
async def add_step(turn: Turn) -> bool:
    """After "Add something", the next text goes into the summary."""
    draft = f"{turn.case.draft_summary}\n{build.ADDED} “{md_escape(shorten(turn.text, 300))}”"
    await turn.save_case(draft_summary=draft)
    await turn.wait_for(Conversation.AWAITING_SUMMARY_CHOICE)
    await show_draft(turn, _("Added."))
    return True


@feature.step("handover triggers", order=90)
async def triggers(turn: Turn) -> bool:
    """Asked for a person in words, frustrated, asking again, or saying it did not help."""
    text = turn.text
    if wants_person(text):
        await propose(turn, ASKED_FOR_PERSON)
        return True
    if frustrated(text):
        await propose(
            turn,
            "the customer seemed frustrated",
            opening=_("I'm sorry this has been frustrating. A person should take this from here."),
        )
        return True
    if await _repeated(turn, text):
        await propose(
            turn,
            "the customer asked the same question again",
            opening=_("You've asked that before, so my answer clearly didn't do the job."),
        )
        return True
    if not_helpful(text) and await _last_bot_kind(turn) is EventKind.ANSWER:
        await propose(
            turn,
            "an answer did not help",
            opening=_("Sorry that didn't help. Let me get a person who can."),
        )
        return True
    return False


async def _repeated(turn: Turn, text: str) -> bool:
    """The same question again, after the bot already answered it."""
    wanted = " ".join(text.casefold().split())
    events = await turn.timeline(30)
    earlier = [
        e
        for e in events[:-1]
        if e.kind is EventKind.CUSTOMER and " ".join(e.text.casefold().split()) == wanted
    ]
    return bool(earlier) and any(
        e.kind in (EventKind.ANSWER, EventKind.UNKNOWN) and e.id > earlier[-1].id for e in events
    )


async def _last_bot_kind(turn: Turn) -> EventKind | None:
    for event in reversed(await turn.timeline(10)):
        if event.actor == "bot":
            return event.kind
    return None
