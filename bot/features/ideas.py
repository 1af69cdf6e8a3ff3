"""`/idea`: customers suggest things and vote; the same idea again becomes a vote, and
a near one is offered ("is it the same as …?"), the customer's words kept either way.
A vote button acts only on an open idea offered to that customer.
Agents mark ideas planned or done (`/idea planned N`), and everyone who voted is
told, which is the only notice an idea ever sends."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz

from bot.desk.turn import DeskTurn
from bot.i18n import N_, _, ngettext, speaking, spoken
from bot.model import Button, Cause, Conversation, Delivery, Idea, IdeaState, Outbound, Purpose
from bot.registry import Feature, pack
from bot.report import ReportData, ReportSection, counted
from bot.store import Transaction
from bot.text import md_escape, shorten, small_number
from bot.turn import Turn

feature = Feature("ideas")

SAME_IDEA = 90  # token_set_ratio at which a suggestion is a vote for a known idea
# ... and the share of that idea's words it must have: token_set_ratio scores a word
# against any idea holding it at 100, and asking about an idea shows it whole
COVERS = 0.75


@feature.command(
    "idea", aliases=("ideas",), help=N_("suggest something, or see the most-wanted ideas and vote")
)
async def idea(turn: Turn, text: str) -> None:
    text = text.strip()
    if not text:
        await _most_wanted(turn)
        return
    wanted = _words(text)
    best, score = None, 0.0
    for known in await turn.tx.ideas.top(50):
        if _words(known.text) == wanted:  # the same words: a vote, nothing to ask
            new_vote = await turn.tx.ideas.vote(known.id, turn.customer.id, turn.now)
            votes = known.votes + int(new_vote)
            await turn.say(
                _(
                    "Someone suggested that already: “{idea}”. I've added your vote ({votes}"
                    " now). You'll be told when it's planned or done."
                ).format(idea=md_escape(shorten(known.text, 120)), votes=votes)
                + others(votes),
                note=f"voted for idea #{known.id}",
            )
            return
        similar = fuzz.token_set_ratio(known.text.casefold(), text.casefold())
        if similar >= SAME_IDEA and similar > score and _covers(wanted, known.text):
            best, score = known, similar
    if best is None:
        await _record(turn, text)
        return
    # close, but maybe not the same ("to pdf" is not "to csv"): theirs to say
    await turn.wait_for(Conversation.AWAITING_IDEA_CHOICE, note=json.dumps([best.id, text]))
    await turn.say(
        _(
            "Is it the same as “{idea}”? If it is, your vote goes to it; if not, I'll record"
            " yours as a new idea."
        ).format(idea=md_escape(shorten(best.text, 120))),
        note=f"asked whether the idea is idea #{best.id}",
        buttons=[
            Button(_("Yes, vote for it"), pack("idea", "same", best.id)),
            Button(_("No, it's a new idea"), pack("idea", "new", best.id)),
        ],
        offered=[best.id],
    )


def others(votes: int) -> str:
    """How many others want an idea the customer voted for: a count, never who."""
    if votes < 2:
        return ""
    return " " + ngettext(
        "{n} other customer wants this too.", "{n} other customers want this too.", votes - 1
    ).format(n=votes - 1)


def _covers(wanted: str, known: str) -> bool:
    """Whether the words `wanted` (as `_words` gives them) hold most of an idea's: only
    then is it offered, so that nobody draws out an idea's text by a word of it."""
    theirs = set(_words(known).split())
    return len(theirs & set(wanted.split())) >= COVERS * len(theirs)


def _words(text: str) -> str:
    """An idea's words as compared: case, punctuation and spacing folded."""
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.casefold()).split())


async def _record(turn: Turn, text: str, closed: bool = False) -> None:
    number = await turn.tx.ideas.add(turn.customer.id, text, turn.now)
    turn.out += turn.desk.notice(
        f"💡 Idea #{number} from {md_escape(turn.name)}: “{md_escape(shorten(text, 500))}”."
        f" Mark it with /idea planned {number} or /idea done {number}.",
        purpose=Purpose.IDEA,
        customer_id=turn.customer.id,
    )
    await turn.say(
        (
            _("That idea is closed now, so your idea is recorded as #{number}, with your vote.")
            if closed
            else _("Thank you: your idea is recorded as #{number}, with your vote.")
        ).format(number=number)
        + " "
        + _(
            "Others can vote for it (/idea shows the most-wanted), and you'll be told when"
            " it's planned or done."
        ),
        note=f"recorded idea #{number}",
    )


async def _most_wanted(turn: Turn) -> None:
    ideas = await turn.tx.ideas.top(5)
    if not ideas:
        await turn.say(
            _("No ideas yet. Suggest one with /idea and what you'd like, like /idea export to CSV.")
        )
        return
    mine = set(await turn.tx.ideas.votes_of(turn.customer.id))
    lines = [
        f"{n}. {md_escape(shorten(i.text, 90))} · "
        + ngettext("{n} vote", "{n} votes", i.votes).format(n=i.votes)
        + (" · " + _("planned") if i.state is IdeaState.PLANNED else "")
        + (" · " + _("you voted") if i.id in mine else "")
        for n, i in enumerate(ideas, 1)
    ]
    await turn.say(
        _("**The most-wanted ideas:**")
        + "\n"
        + "\n".join(lines)
        + "\n\n"
        + _("Vote with a button; you'll be told when one you voted for is planned or done."),
        note="showed the ideas",
        buttons=[
            Button(_("Vote: {idea}").format(idea=shorten(i.text, 40)), pack("idea", "vote", i.id))
            for i in ideas
            if i.id not in mine
        ],
        offered=[i.id for i in ideas],
    )


async def _offered(turn: Turn, number: int) -> Idea | None:
    """The idea, if it is still open for votes and was offered to this customer on
    their case (listed, or asked about): a press never acts on, nor shows, any other."""
    found = await turn.tx.ideas.get(number)
    if found is None or found.state is IdeaState.DONE:
        return None
    for event in await turn.timeline(100):
        offered = event.data.get("offered") if event.actor == "bot" else None
        if isinstance(offered, list) and number in offered:
            return found
    return None


@feature.button("idea", str, int, on_resolved=True)
async def vote(turn: Turn, fields: tuple[object, ...]) -> None:
    action, wanted = fields
    number = int(str(wanted))
    if action in ("same", "new"):
        await _answered(turn, action == "same", number)
        return
    found = await _offered(turn, number) if action == "vote" else None
    if found is None:
        await turn.say_privately(
            _("That idea is not open for votes here. /idea shows the ones that are.")
        )
        return
    await _vote(turn, found)


async def _vote(turn: Turn, found: Idea, words: str = "") -> None:
    new_vote = await turn.tx.ideas.vote(found.id, turn.customer.id, turn.now)
    votes = found.votes + int(new_vote)

    kept = ""
    if words:  # their own words for it are kept, for the team
        turn.out += turn.desk.notice(
            f"💡 A vote for idea #{found.id} from {md_escape(turn.name)}, in their words:"
            f" “{md_escape(shorten(words, 500))}”.",
            purpose=Purpose.IDEA,
            customer_id=turn.customer.id,
        )
        kept = " " + _("Your words go to the team with it.")
    idea = md_escape(shorten(found.text, 100))
    said = (
        ngettext(
            "Your vote is in: “{idea}” has {n} vote.",
            "Your vote is in: “{idea}” has {n} votes.",
            votes,
        )
        if new_vote
        else ngettext(
            "You had already voted for it: “{idea}” has {n} vote.",
            "You had already voted for it: “{idea}” has {n} votes.",
            votes,
        )
    ).format(idea=idea, n=votes)
    await turn.say(
        said + others(votes) + kept + " " + _("You'll be told when it's planned or done."),
        note=f"voted for idea #{found.id}",
    )


async def _answered(turn: Turn, same: bool, number: int) -> None:
    """Yes (the same idea: a vote for it, their words kept) or no (a new idea)."""
    asked, text = None, ""
    if turn.waiting_for(Conversation.AWAITING_IDEA_CHOICE):
        try:
            asked, text = json.loads(turn.case.conversation_note)
        except (ValueError, TypeError):
            asked = None
    if asked != number or not isinstance(text, str) or not text:
        await turn.say_privately(
            _("That question has expired, so nothing was recorded. Send /idea and your idea again.")
        )
        return
    await turn.stop_waiting()
    found = await turn.tx.ideas.get(number) if same else None
    if found is None or found.state is IdeaState.DONE:
        await _record(turn, text, closed=same)
        return
    await _vote(turn, found, words=text)


def _top_ideas(data: ReportData) -> dict[str, Any]:
    return {
        "top_ideas": [{"text": i.text, "votes": i.votes, "state": i.state} for i in data.top_ideas]
    }


def _top_ideas_text(report: dict[str, Any]) -> list[str]:
    ideas = report["top_ideas"]
    if not ideas:
        return ["Top ideas", "  no ideas yet"]
    voted = counted([(i["text"], int(i["votes"])) for i in ideas], ("vote", "votes"))
    width = max(len(row) for row in voted)
    return [
        "Top ideas",
        *(f"{row:<{width}}  ({i['state']})" for row, i in zip(voted, ideas, strict=True)),
    ]


feature.report_section(ReportSection("Top ideas", 60, _top_ideas, _top_ideas_text))


@feature.notice_rule(Cause.IDEA)
async def voted(tx: Transaction, message: Outbound, now: datetime) -> str:
    """An idea notice goes only to someone who voted for that idea."""
    idea = message.delivery.idea
    if idea is None or message.customer_id is None:
        return "an idea notice without its idea or customer"
    if idea in await tx.ideas.votes_of(message.customer_id):
        return ""
    return f"the customer did not vote for idea {idea}"


@feature.desk_command("ideas", help="the ideas, most wanted first")
async def listed(turn: DeskTurn, args: str) -> None:
    ideas = await turn.tx.ideas.top(15)
    lines = [
        f"#{i.id} · {i.votes} vote{'s' if i.votes != 1 else ''} · {i.state}"
        f" · {md_escape(shorten(i.text, 100))}"
        for i in ideas
    ]
    turn.answer(
        ("**Ideas, most wanted first:**\n" + "\n".join(lines)) if lines else "No ideas yet."
    )


@feature.desk_command("idea", help="mark one planned or done", usage="planned|done N [note]")
async def mark(turn: DeskTurn, args: str) -> None:
    words = args.split(None, 2)
    if not words:
        await listed(turn, "")
        return
    state = {"planned": IdeaState.PLANNED, "done": IdeaState.DONE}.get(words[0].lower())
    number = small_number(words[1].lstrip("#")) if len(words) > 1 else None
    if state is None or number is None:
        turn.answer("Ideas: /ideas lists them; /idea planned N [note]; /idea done N [note].")
        return
    found = await turn.tx.ideas.get(number)
    if found is None:
        turn.answer(f"There is no idea #{number}.")
        return
    note = words[2].strip() if len(words) > 2 else ""
    await turn.tx.ideas.set_state(found.id, state, note, turn.now)
    planned = state is IdeaState.PLANNED
    idea = md_escape(shorten(found.text, 150))
    told = 0
    for customer_id in await turn.tx.ideas.voters(found.id):
        address = await turn.tx.customers.address_of(customer_id)
        if address is None:
            continue
        voter = await turn.tx.customers.get(customer_id)
        language = spoken(voter.language if voter else "", turn.services.settings.languages)
        with speaking(language):
            text = (
                _("💡 An idea you voted for is planned: “{idea}”.")
                if planned
                else _("💡 An idea you voted for is done: “{idea}”.")
            ).format(idea=idea) + (f" {md_escape(note)}" if note else "")
        turn.out.append(
            Outbound(
                address=address,
                text=text,
                cause=Cause.IDEA,
                customer_id=customer_id,
                delivery=Delivery(idea=found.id, language=language),
            )
        )
        told += 1
    said = "is planned" if planned else "is done"
    turn.answer(f"Idea #{found.id} {said}; told {told} voter{'s' if told != 1 else ''}.")
