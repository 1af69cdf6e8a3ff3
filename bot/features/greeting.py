"""Saying hello, and saying what the bot is: a new customer always hears first that
this is a bot and what their case number is, whatever they sent first; a
returning one hears where their case stands, so they never repeat themselves."""

from __future__ import annotations

from datetime import timedelta

from bot.features import link
from bot.i18n import N_, _
from bot.model import CaseState, EventKind, InboundKind
from bot.registry import Feature
from bot.signals import is_greeting
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("greeting")

RECENT = timedelta(minutes=30)  # a greeting this recent is not repeated in full
_SAY_WHAT_IT_IS = ("start", "hello", "help")  # commands whose reply introduces the bot


@feature.on_arrival
async def introduce(turn: Turn) -> None:
    """A new customer's first reply says that this is a bot and gives the case
    number, then deals with what they sent (a question is still answered)."""
    if not turn.new_customer or turn.inbound.kind is InboundKind.START:
        return
    if turn.command is not None and turn.command[0] in _SAY_WHAT_IT_IS:
        return
    if turn.command is None and is_greeting(turn.text):
        return
    if link.changes_another_customer(turn.command):
        return  # joining an identity they have: not new to us
    turn.introduce(_introduction)


def _introduction(turn: Turn) -> str:
    hello = _("Hello, {name}!").format(name=md_escape(turn.name)) if turn.name else _("Hello!")
    return (
        hello
        + " "
        + _(
            "I'm {bot}, the support **bot** of {company}, not a person. Your case number is"
            " **#{case}**: everything you tell me stays on it. /human gets you a person at"
            " any time."
        ).format(bot=turn.settings.name, company=turn.settings.company, case=turn.case.id)
    )


@feature.receives(InboundKind.START)
async def opened(turn: Turn) -> None:
    await greet(turn)


@feature.command("start", aliases=("hello",), help=N_("say hello"), public=False)
async def start(turn: Turn, args: str) -> None:
    await greet(turn)


@feature.step("greeting", order=80, when=lambda turn: is_greeting(turn.text))
async def hello(turn: Turn) -> bool:
    await greet(turn, short_if_recent=True)
    return True


async def greet(turn: Turn, short_if_recent: bool = False) -> None:
    case = turn.case
    number = f"**#{case.id}**"
    if short_if_recent and await _greeted_recently(turn):
        if await _has_asked(turn):
            text = _("Hi again! What can I help you with? You're on case {number}.").format(
                number=number
            )
        else:
            text = _(
                "Hi! What can I help you with? Ask me about plans and prices, trials,"
                " discounts, contracts or cancelling, in your own words. You're on case"
                " {number}."
            ).format(number=number)
        await turn.say(text, kind=EventKind.GREETING)
        return
    welcome = (
        _("Welcome back, {name}.").format(name=md_escape(turn.name))
        if turn.name
        else _("Welcome back.")
    )
    if case.state is CaseState.RESOLVED:
        assert case.resolved_at is not None
        if turn.now - case.resolved_at <= turn.settings.reopen_window:
            then = _("If it's about that, just write and I'll reopen it; if it's new, ask away.")
        else:
            then = _("Write what you need and I'll open a new case, linked to that one.")
        resolved = _("Your last case {number} was resolved on {when}.").format(
            number=number, when=turn.when(case.resolved_at)
        )
        await turn.say_privately(
            f"{welcome} {await _since_last_visit(turn)}{resolved} {then}",
            kind=EventKind.GREETING,  # what happened since quotes the case
        )
        return
    if turn.case_was == "open" and (case.subject or await _has_asked(turn, anything=True)):
        await turn.say_privately(
            f"{welcome} "
            + _("Your case {number} is still open.").format(number=number)
            + f" {await _since_last_visit(turn)}{await _about(turn)}\n\n"
            + _(
                "Carry on where you left off: you don't need to repeat anything."
                " Type /status to see the whole story."
            ),
            kind=EventKind.GREETING,  # what it is about: their words
        )
        return
    hello_words = (
        _("Hello, {name}!").format(name=md_escape(turn.name)) if turn.name else _("Hello!")
    )
    await turn.say(
        hello_words
        + " "
        + _(
            "I'm {bot}, the support **bot** of {company}, not a person. I can answer"
            " questions about plans and prices, trials, discounts, paying, contracts,"
            " security reviews and cancelling, and I'll always tell you which article an"
            " answer comes from. If I don't know something, I'll say so. You can ask for a"
            " person at any time with /human."
        ).format(bot=turn.settings.name, company=turn.settings.company)
        + "\n\n"
        + _(
            "Your case number is {number}. Everything you tell me stays on it, so you never"
            " have to explain anything twice. /status shows it."
        ).format(number=number),
        kind=EventKind.GREETING,
    )


async def _greeted_recently(turn: Turn) -> bool:
    for event in reversed(await turn.timeline(20)):
        if event.kind is EventKind.GREETING:
            return turn.now - event.at < RECENT
    return False


async def _has_asked(turn: Turn, *, anything: bool = False) -> bool:
    """Has the customer said something on this case before this turn: a question
    (or, with `anything`, any other command, button or file too)?"""
    for event in reversed(await turn.timeline(30)):
        if event.id in turn.recorded:
            continue
        if event.kind is EventKind.ATTACHMENT:
            return True
        if event.kind is not EventKind.CUSTOMER or event.data.get("command") in _SAY_WHAT_IT_IS:
            continue
        if event.text and is_greeting(event.text):
            continue
        if anything or (event.text and not event.data.get("command")):
            return True
    return False


async def _since_last_visit(turn: Turn) -> str:
    """What people did on the case while the customer was away, if anything."""
    seen = turn.customer.last_seen_at
    if seen is None:
        return ""
    news = []
    for event in await turn.timeline():
        if event.at <= seen:
            continue
        if event.kind is EventKind.AGENT:
            news.append(
                _("{agent} from support wrote “{text}”").format(
                    agent=md_escape(event.actor), text=md_escape(shorten(event.text, 120))
                )
            )
        elif event.kind is EventKind.CLAIM:
            news.append(
                _("{agent} from support took your case").format(agent=md_escape(event.actor))
            )
    if not news:
        return ""
    return _("Since you were last here: {news}.").format(news="; ".join(news[-3:])) + " "


async def _about(turn: Turn) -> str:
    """What the case is about and where it stands, in a few sentences."""
    case = turn.case
    parts = [
        _("It's about “{subject}”.").format(subject=md_escape(shorten(case.subject, 100)))
        if case.subject
        else ""
    ]
    events = await turn.timeline()
    answered = [e.text for e in events if e.kind is EventKind.ANSWER]
    if answered:
        titles = ", ".join(f"“{md_escape(t)}”" for t in dict.fromkeys(answered[-3:]))
        parts.append(_("I answered with {titles}.").format(titles=titles))
    agent_said = [e for e in events if e.kind is EventKind.AGENT]
    if agent_said:
        last = agent_said[-1]
        parts.append(
            _("{agent} from support last wrote “{text}”.").format(
                agent=md_escape(last.actor), text=md_escape(shorten(last.text, 80))
            )
        )
    if case.state is CaseState.WAITING:
        position = await turn.tx.cases.queue_position(case)
        parts.append(
            _("It's waiting for a person: you're number {position} in the queue.").format(
                position=position
            )
        )
    elif case.state is CaseState.AGENT:
        parts.append(
            _("{agent} from support has it.").format(agent=md_escape(case.agent or _("A person")))
        )
    return " ".join(part for part in parts if part)
