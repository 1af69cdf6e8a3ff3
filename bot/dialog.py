"""The decisions: what the bot says and does with each thing a customer sends.

`Dialog.handle` runs inside the engine's transaction: it settles which case the
message belongs to, appends the timeline events, and returns the messages for
the outbox (to the customer and to the desk). It decides everything a channel
could want to decide (is this a command, a greeting, a request for a person), so
that adapters only translate.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz

from bot import incidents
from bot.handover import RATE, Desk, summarise
from bot.knowledge import Decision, KnowledgeBase
from bot.model import (
    Address,
    Button,
    Case,
    CaseState,
    Cause,
    Customer,
    Event,
    EventKind,
    Inbound,
    InboundKind,
    Outbound,
)
from bot.signals import frustrated, is_greeting, not_helpful, wants_person
from bot.store import Transaction
from bot.text import MAX_MATCHED, clean, has_words, md_escape, parse_command, shorten, small_number

HUMAN = "human"  # button payload: hand the case to a person
NONE_OF_THESE = "none"  # button payload: none of the clarify options
ARTICLE = "article:"  # button payload prefix: the customer picked an article
SEND = "handover:send"  # the customer confirms the summary
ADD = "handover:add"  # the customer wants to add to it
CANCEL = "handover:cancel"  # the customer changed their mind

_COMMANDS = {
    "status": "see your case: what has happened and what happens next",
    "human": "hand your case to a person",
    "feedback": "tell us anything: praise, complaints, what others do better",
    "link": "join this chat with your other channels, so you are one customer everywhere",
    "idea": "suggest something, or see the most-wanted ideas and vote",
    "mute": "pause notices (incidents, ideas) until you write again, or for a time: /mute 8h",
    "quiet": "quiet hours for notices, like /quiet 22:00-07:00 (/quiet off)",
    "mydata": "see and download everything stored about you",
    "forget": "erase everything stored about you",
    "help": "what I can do",
}
LINK_MINUTES = 10  # how long a /link code works
LINK_TRIES = 5  # wrong codes a customer may send in an hour
_CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
VOTE = "idea:vote:"  # button payload prefix: vote for an idea
FORGET_YES = "forget:yes"  # the customer confirms erasing their data
FORGET_NO = "forget:no"
ASKED_FOR_PERSON = "the customer asked for a person"


@dataclass(frozen=True, slots=True)
class Turn:
    """What the dialog knows when one inbound arrives."""

    inbound: Inbound
    customer: Customer
    new_customer: bool
    latest: Case | None  # the unresolved case, else the last resolved one, else None
    now: datetime


@dataclass(frozen=True, slots=True)
class DialogSettings:
    name: str = "Candor"
    company: str = "Northwind Cloud"
    timezone: str = "UTC"
    reopen_window: timedelta = timedelta(hours=72)
    unknown_limit: int = 2
    rating_comment_window: timedelta = timedelta(minutes=30)


class Dialog:
    def __init__(
        self,
        knowledge: Callable[[], KnowledgeBase],
        desk: Desk,
        settings: DialogSettings = DialogSettings(),
    ) -> None:
        self._knowledge = knowledge
        self.desk = desk
        self.settings = settings
        self._tz = ZoneInfo(settings.timezone)

    @property
    def knowledge(self) -> KnowledgeBase:
        return self._knowledge()

    def prepare(self, inbound: Inbound) -> bool:
        """The CPU-bound part of a turn, before its transaction: match the question, so
        that other customers' turns use the database meanwhile. (The decision is kept
        by the knowledge base and found again inside the turn.)

        Returns whether the turn must run in a transaction of its own: one that may
        change another customer (redeeming a /link code merges two) cannot share a
        group commit with that customer's turns."""
        if inbound.kind is not InboundKind.MESSAGE:
            return False
        text = clean(inbound.text)
        command = parse_command(text)
        if command is not None:
            name, args = command
            return name == "link" and bool(args)
        if text:
            self.knowledge.decide(text[:MAX_MATCHED])
        return False

    async def handle(self, tx: Transaction, turn: Turn) -> list[Outbound]:
        """Record what the customer did, decide, and return the messages to send."""
        conversation = _Conversation(self, tx, turn)
        await conversation.run()
        return conversation.out

    def when(self, moment: datetime) -> str:
        local = moment.astimezone(self._tz)
        return local.strftime("%d %b %H:%M ") + (local.tzname() or "")


def _duration(spell: str) -> timedelta | None:
    """ "8h", "30m", "2d" → a timedelta (at most 30 days)."""
    found = re.fullmatch(r"(\d{1,4})\s*(m|min|h|hours?|d|days?)", spell)
    if found is None:
        return None
    unit = found[2][0]
    length = timedelta(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: int(found[1])})
    return length if timedelta(0) < length <= timedelta(days=30) else None


def _substantive(inbound: Inbound, text: str) -> bool:
    """Does this reopen a resolved case (or open a new one)? Writing about
    something does; opening the chat, commands and old buttons do not."""
    if inbound.kind is InboundKind.ATTACHMENT:
        return True
    if inbound.kind is not InboundKind.MESSAGE or not text:
        return False
    command = parse_command(text)
    return command is None or command[0] in ("human", "agent", "person")


class _Conversation:
    """One turn: the transaction, the case as it changes, and the messages so far."""

    def __init__(self, dialog: Dialog, tx: Transaction, turn: Turn) -> None:
        self.d = dialog
        self.tx = tx
        self.turn = turn
        self.text = clean(turn.inbound.text)
        self.case: Case = turn.latest  # type: ignore[assignment]  # settled in run()
        self.case_was = "open"
        self.out: list[Outbound] = []

    @property
    def address(self) -> Address:
        return self.turn.inbound.address

    @property
    def now(self) -> datetime:
        return self.turn.now

    @property
    def name(self) -> str:
        return self.turn.customer.name

    # -- recording and replying -------------------------------------------------------------

    async def record(
        self, kind: EventKind, text: str, actor: str = "customer", **data: object
    ) -> Event:
        return await self.tx.timeline.append(self.case.id, kind, actor, text, self.now, data)

    async def say(
        self,
        text: str,
        *,
        kind: EventKind = EventKind.BOT,
        note: str | None = None,
        buttons: Sequence[Button] = (),
        **data: object,
    ) -> None:
        """Reply to the customer and put the reply on the timeline (`note` if shorter)."""
        await self.record(kind, text if note is None else note, actor="bot", **data)
        self.out.append(
            Outbound(
                address=self.address,
                text=text,
                cause=Cause.REPLY,
                customer_id=self.turn.customer.id,
                case_id=self.case.id,
                buttons=tuple(buttons),
            )
        )

    async def save_case(self, **changes: object) -> None:
        self.case = replace(self.case, updated_at=self.now, **changes)  # type: ignore[arg-type]
        await self.tx.cases.update(self.case)

    def to_desk(self, text: str, kind: str) -> None:
        self.out += self.d.desk.to_desk(self.case, text, kind=kind)

    # -- which case -------------------------------------------------------------------------

    async def settle_case(self) -> None:
        inbound, latest = self.turn.inbound, self.turn.latest
        if latest is None:
            self.case, self.case_was = (
                await self.tx.cases.new(self.turn.customer.id, self.now),
                "new",
            )
            return
        self.case = latest
        if latest.state is not CaseState.RESOLVED or not _substantive(inbound, self.text):
            return
        if await self._awaiting_comment():
            return
        assert latest.resolved_at is not None
        if self.now - latest.resolved_at <= self.d.settings.reopen_window:
            await self.save_case(state=CaseState.BOT, resolved_at=None, agent="", unanswered=0)
            await self.record(EventKind.STATE, "reopened: the customer wrote again", actor="bot")
            self.case_was = "reopened"
        else:
            self.case = await self.tx.cases.new(self.turn.customer.id, self.now)
            self.case_was = "new"
            await self.record(
                EventKind.STATE, f"opened; the earlier case was #{latest.id}", actor="bot"
            )

    async def _awaiting_comment(self) -> bool:
        """Just rated and not yet commented: the next message is the comment."""
        for event in reversed(await self.tx.timeline.recent(self.case.id, limit=10)):
            if event.kind is EventKind.RATING:
                fresh = self.now - event.at <= self.d.settings.rating_comment_window
                return fresh and "comment" not in event.data
            if event.kind is EventKind.CUSTOMER and not event.data.get("button"):
                return False
        return False

    # -- the turn ---------------------------------------------------------------------------

    async def run(self) -> None:
        await self.settle_case()
        inbound = self.turn.inbound
        if inbound.kind is InboundKind.START:
            await self.greet()
        elif inbound.kind is InboundKind.BUTTON:
            await self.button(inbound.payload)
        elif inbound.kind is InboundKind.EDIT and inbound.payload == "deleted":
            await self.record(EventKind.EDIT, "", edited=inbound.edited_key, deleted=True)
            if self.case.state in (CaseState.WAITING, CaseState.AGENT):
                self.to_desk(f"{md_escape(self.name)} deleted a message.", "edit")
        elif inbound.kind is InboundKind.EDIT:
            await self.record(EventKind.EDIT, self.text, edited=inbound.edited_key)
            if self.case.state in (CaseState.WAITING, CaseState.AGENT):
                self.to_desk(
                    f"{md_escape(self.name)} edited a message: “{md_escape(self.text)}”", "edit"
                )
        elif inbound.kind is InboundKind.ATTACHMENT:
            await self.attachment()
        elif inbound.kind is InboundKind.OTHER:
            what = shorten(self.text or "that", 40)
            await self.record(EventKind.CUSTOMER, "", unsupported=what)
            if self.case.state is not CaseState.AGENT:
                await self.say(
                    f"Thanks for the {md_escape(what)}! I can't do anything with it, though:"
                    " I read text, and I keep photos and files for a person. Type your question,"
                    " or /human."
                )
        else:
            await self.message()

    async def message(self) -> None:
        text = self.text
        _, until_write, _ = await self.tx.notices.quiet_of(self.turn.customer.id)
        if until_write:  # "/mute" lasts until they write again: this is it
            await self.tx.notices.set_quiet(
                self.turn.customer.id, muted_until=None, until_write=False
            )
            await self.tx.notices.release(self.turn.customer.id, self.now)
        command = parse_command(text)
        if command is not None:
            await self.record(EventKind.CUSTOMER, text, command=command[0])
            await self.command(*command)
            return
        if self.case.state is CaseState.RESOLVED and await self._awaiting_comment():
            await self.rating_comment(text)
            return
        await self.record(EventKind.CUSTOMER, text)
        if not text:
            await self.say(
                "I got an empty message. Type your question, or /help to see what I can do."
            )
            return
        await self.tell_of_incidents(text)
        if self.case.state in (CaseState.WAITING, CaseState.AGENT):
            await self.relay(text)
            return
        if not self.case.subject and has_words(text) and not is_greeting(text):
            await self.save_case(subject=shorten(text, 120))
        if self.case.pending_reason:
            await self.add_to_summary(text)
            return
        if is_greeting(text):
            await self.greet(short_if_recent=True)
            return
        if wants_person(text):
            await self.propose_handover(ASKED_FOR_PERSON)
            return
        if frustrated(text):
            await self.propose_handover(
                "the customer seemed frustrated",
                opening="I'm sorry this has been frustrating. A person should take this from here.",
            )
            return
        if await self.repeated(text):
            await self.propose_handover(
                "the customer asked the same question again",
                opening="You've asked that before, so my answer clearly didn't do the job.",
            )
            return
        if not_helpful(text) and await self.last_bot_kind() is EventKind.ANSWER:
            await self.propose_handover(
                "an answer did not help",
                opening="Sorry that didn't help. Let me get a person who can.",
            )
            return
        await self.answer(text)

    async def command(self, name: str, args: str) -> None:
        if name in ("start", "hello"):
            await self.greet()
        elif name == "help":
            await self.help()
        elif name == "status":
            await self.status()
        elif name in ("human", "agent", "person"):
            if args and not self.case.subject:
                await self.save_case(subject=shorten(args, 120))
            if self.case.pending_reason:
                await self.hand_over()
            else:
                await self.propose_handover(ASKED_FOR_PERSON, extra=args)
        elif name == "feedback":
            await self.feedback(args)
        elif name == "link":
            await self.link(args)
        elif name in ("idea", "ideas"):
            await self.idea(args)
        elif name == "mute":
            await self.mute(args)
        elif name == "unmute":
            await self.tx.notices.set_quiet(
                self.turn.customer.id, muted_until=None, until_write=False
            )
            await self.tx.notices.release(self.turn.customer.id, self.now)
            await self.say("Notices are on again; anything held back comes now.")
        elif name == "quiet":
            await self.quiet(args)
        elif name in ("mydata", "data"):
            await self.my_data()
        elif name == "forget":
            await self.say(
                "This erases everything I store about you: your messages, your cases' contents,"
                " your feedback and how to reach you. A person who has your case is told it was"
                " closed. What stays is anonymous counts (how many cases, how long they took),"
                " nothing that says who you were. You can see it all first with /mydata."
                " Erase everything now?",
                note="asked to confirm erasing the customer's data",
                buttons=[Button("Yes, erase everything", FORGET_YES), Button("No", FORGET_NO)],
            )
        else:
            known = ", ".join(f"/{command}" for command in _COMMANDS)
            await self.say(
                f"I don't know the command /{md_escape(name)}. These work: {known}."
                " Or just type your question."
            )

    async def button(self, payload: str) -> None:
        await self.record(EventKind.CUSTOMER, "", button=payload)
        if payload == FORGET_YES:
            await self.forget()
        elif payload.startswith(VOTE):
            await self.vote(payload[len(VOTE) :])
        elif payload == FORGET_NO:
            await self.say("Nothing was erased.", note="the customer kept their data")
        elif payload.startswith(RATE):
            await self.rate(payload[len(RATE) :])
        elif self.case.state is CaseState.RESOLVED:
            await self.say(
                f"Case #{self.case.id} is resolved, so that button no longer does anything."
                " Just write if you need something."
            )
        elif payload == HUMAN:
            await self.propose_handover(ASKED_FOR_PERSON)
        elif payload == SEND:
            await self.hand_over()
        elif payload == ADD:
            if self.case.pending_reason:
                await self.say(
                    "Type what you'd like to add, and I'll put it in the summary.",
                    note="asked what to add",
                )
            else:
                await self.say("There's nothing waiting to be sent. Type /human for a person.")
        elif payload == CANCEL:
            await self.save_case(pending_reason="", draft_summary="")
            await self.say(
                "All right, I won't pass it on. Ask me anything, or type /human at any time.",
                note="the customer cancelled the handover",
            )
        elif payload == NONE_OF_THESE:
            await self.not_answered(
                "None of those, then. I don't know the answer, and I won't guess."
            )
        elif payload.startswith(ARTICLE):
            article = self.d.knowledge.get(payload[len(ARTICLE) :])
            if article is None:
                await self.say(
                    "That article is no longer in the knowledge base. Ask me again in your"
                    " own words, or type /human for a person."
                )
            else:
                await self.show_article(article.id, score=None, chosen=True)
        else:
            await self.say("That button is no longer active. Type your question, or /help.")

    async def attachment(self) -> None:
        inbound = self.turn.inbound
        refs = [
            {"kind": a.kind, "ref": a.ref, "caption": a.caption, "name": a.name}
            for a in inbound.attachments
        ]
        await self.record(EventKind.ATTACHMENT, self.text, attachments=refs)
        if self.case.state in (CaseState.WAITING, CaseState.AGENT):
            kinds = ", ".join(sorted({a.kind for a in inbound.attachments})) or "file"
            caption = f": “{md_escape(self.text)}”" if self.text else ""
            self.out += [
                replace(message, meta={**message.meta, "attachments": refs})
                for message in self.d.desk.to_desk(
                    self.case, f"{md_escape(self.name)} sent a {kinds}{caption}", kind="attachment"
                )
            ]
            if self.case.state is CaseState.WAITING:
                await self.say(f"Thanks, I've added that to case #{self.case.id}.")
            return
        await self.say(
            f"Thanks, I've kept that on case #{self.case.id}. I can't look inside files myself;"
            " a person will see it with the rest of your case. Type /human if you'd like one now."
        )

    # -- greetings, help and status ---------------------------------------------------------

    async def greet(self, short_if_recent: bool = False) -> None:
        hello = f"Hello, {md_escape(self.name)}!" if self.name else "Hello!"
        number = f"**#{self.case.id}**"
        if short_if_recent and await self._greeted_recently():
            await self.say(
                f"Hi again! What can I help you with? You're on case {number}.",
                kind=EventKind.GREETING,
            )
            return
        welcome = f"Welcome back, {md_escape(self.name)}." if self.name else "Welcome back."
        if self.case.state is CaseState.RESOLVED:
            assert self.case.resolved_at is not None
            if self.now - self.case.resolved_at <= self.d.settings.reopen_window:
                then = "If it's about that, just write and I'll reopen it; if it's new, ask away."
            else:
                then = "Write what you need and I'll open a new case, linked to that one."
            await self.say(
                f"{welcome} {await self._since_last_visit()}Your last case {number} was resolved"
                f" on {self.d.when(self.case.resolved_at)}. {then}",
                kind=EventKind.GREETING,
            )
            return
        if self.case.subject and self.case_was == "open":
            await self.say(
                f"{welcome} Your case {number} is still open. {await self._since_last_visit()}"
                f"{await self._about()}\n\n"
                "Carry on where you left off: you don't need to repeat anything."
                " Type /status to see the whole story.",
                kind=EventKind.GREETING,
            )
            return
        await self.say(
            f"{hello} I'm {self.d.settings.name}, the support **bot** of"
            f" {self.d.settings.company}, not a person. I can answer questions about plans and"
            " prices, trials, discounts, paying, contracts, security reviews and cancelling,"
            " and I'll always tell you which article an answer comes from. If I don't know"
            " something, I'll say so. You can ask for a person at any time with /human.\n\n"
            f"Your case number is {number}. Everything you tell me stays on it, so you never"
            " have to explain anything twice. /status shows it.",
            kind=EventKind.GREETING,
        )

    async def _greeted_recently(self) -> bool:
        for event in reversed(await self.tx.timeline.recent(self.case.id, limit=20)):
            if event.kind is EventKind.GREETING:
                return self.now - event.at < timedelta(minutes=30)
        return False

    async def _since_last_visit(self) -> str:
        """What people did on the case while the customer was away, if anything."""
        seen = self.turn.customer.last_seen_at
        if seen is None:
            return ""
        news = []
        for event in await self.tx.timeline.recent(self.case.id):
            if event.at <= seen:
                continue
            if event.kind is EventKind.AGENT:
                news.append(
                    f"{md_escape(event.actor)} from support wrote"
                    f" “{md_escape(shorten(event.text, 120))}”"
                )
            elif event.kind is EventKind.CLAIM:
                news.append(f"{md_escape(event.actor)} from support took your case")
        if not news:
            return ""
        return "Since you were last here: " + "; ".join(news[-3:]) + ". "

    async def _about(self) -> str:
        """What the case is about and where it stands, in a few sentences."""
        parts = [f"It's about “{md_escape(shorten(self.case.subject, 100))}”."]
        events = await self.tx.timeline.recent(self.case.id)
        answered = [e.text for e in events if e.kind is EventKind.ANSWER]
        if answered:
            titles = ", ".join(f"“{md_escape(t)}”" for t in dict.fromkeys(answered[-3:]))
            parts.append(f"I answered with {titles}.")
        agent_said = [e for e in events if e.kind is EventKind.AGENT]
        if agent_said:
            last = agent_said[-1]
            parts.append(
                f"{md_escape(last.actor)} from support last wrote"
                f" “{md_escape(shorten(last.text, 80))}”."
            )
        parts.append(await self._where())
        return " ".join(part for part in parts if part)

    async def _where(self) -> str:
        state = self.case.state
        if state is CaseState.WAITING:
            position = await self.tx.cases.queue_position(self.case)
            return f"It's waiting for a person: you're number {position} in the queue."
        if state is CaseState.AGENT:
            return f"{md_escape(self.case.agent or 'A person')} from support has it."
        return ""

    async def help(self) -> None:
        lines = "\n".join(f"/{name}: {what}" for name, what in _COMMANDS.items())
        await self.say(
            f"I'm {self.d.settings.name}, a bot. Ask me about {self.d.settings.company}'s plans,"
            " prices, trials, discounts, contracts, paying, security reviews or cancelling, in"
            f" your own words. Your case is **#{self.case.id}**.\n\n{lines}"
        )

    async def tell_of_incidents(self, text: str) -> None:
        """Writing about a known problem: say so at once, and subscribe them to it."""
        open_now = await self.tx.incidents.open_ones()
        if not open_now:
            return
        articles = {c.article.id for c in self.d.knowledge.decide(text[:MAX_MATCHED]).candidates}
        for incident in open_now:
            if not incidents.concerns(incident, text, articles):
                continue
            if not await self.tx.incidents.subscribe(incident.id, self.turn.customer.id, self.now):
                continue  # already told
            when = self.d.when(incident.latest_at or incident.opened_at)
            await self.say(
                f"{incidents.describe(incident, when)}\n\nI'll tell you here when there is"
                " news and when it's fixed; you don't need to ask again.",
                note=f"told of incident #{incident.id}",
                incident=incident.id,
            )

    async def feedback(self, text: str) -> None:
        text = text.strip()
        if not text:
            await self.say(
                "Write it after the command, like /feedback the trial was too short. Praise,"
                " complaints, what another company does better: all of it is read."
            )
            return
        await self.tx.feedback.add(self.turn.customer.id, self.case.id, text, self.now)
        self.out += self.d.desk.notice(
            f"💬 Feedback from {md_escape(self.name)} (case #{self.case.id}):"
            f" “{md_escape(shorten(text, 1500))}”",
            kind="feedback",
            customer_id=self.turn.customer.id,
        )
        await self.say(
            f"Thank you. Your feedback is recorded and goes to the support team at"
            f" {self.d.settings.company}, who read every one; it does not change your case.",
            note="thanked for feedback",
        )

    async def link(self, code: str) -> None:
        customer = self.turn.customer
        wanted = "".join(ch for ch in code.upper() if ch.isalnum())
        if not wanted:
            fresh = "".join(secrets.choice(_CODE_LETTERS) for _ in range(8))
            expires = self.now + timedelta(minutes=LINK_MINUTES)
            await self.tx.links.add_code(customer.id, fresh, self.now, expires)
            await self.say(
                f"Your code is **{fresh[:4]}-{fresh[4:]}**. On your other channel (Telegram,"
                f" Slack, …) send `/link {fresh[:4]}-{fresh[4:]}` to me within {LINK_MINUTES}"
                " minutes, and both will be you: one customer, one case. The code works once.",
                note="gave a link code",
            )
            return
        since = self.now - timedelta(hours=1)
        if await self.tx.links.failures(customer.id, since) >= LINK_TRIES:
            await self.say(
                "Too many wrong codes in the last hour, so I'm not trying more for now."
                " Ask for a new code with /link on your other channel and try again later."
            )
            return
        owner = await self.tx.links.take_code(wanted, self.now)
        if owner is None:
            await self.tx.links.add_failure(customer.id, self.now)
            await self.say(
                "That code is wrong or has expired. Type /link on your other channel for a"
                " new one, then send it here."
            )
            return
        if owner == customer.id:
            await self.say(
                "That is this chat's own code: send it from your *other* channel to join them."
            )
            return
        open_case, merged = await self.tx.merge_customers(owner, customer.id, self.now)
        keep = await self.tx.customers.get(owner)
        assert keep is not None
        self.turn = replace(self.turn, customer=keep)
        case = (
            await self.tx.cases.get(open_case) if open_case else await self.tx.cases.latest(owner)
        )
        if case is None:
            case = await self.tx.cases.new(owner, self.now)
        self.case = case
        await self.record(EventKind.STATE, "linked another channel to this customer", actor="bot")
        joined = f" Case #{merged}'s history is now part of it." if merged else ""
        if merged and self.case.state in (CaseState.WAITING, CaseState.AGENT):
            self.to_desk(
                f"🔗 Case #{self.case.id}: the customer linked another channel;"
                f" case #{merged} was merged into this one.",
                "linked",
            )
        await self.say(
            f"Linked: this chat and your other channel are now one customer, and your case"
            f" is **#{self.case.id}**.{joined} I'll reply wherever you write last.",
            note="linked two channels",
        )

    async def idea(self, text: str) -> None:
        text = text.strip()
        if not text:
            ideas = await self.tx.ideas.top(5)
            if not ideas:
                await self.say(
                    "No ideas yet. Suggest one with /idea and what you'd like, like"
                    " /idea export to CSV."
                )
                return
            mine = set(await self.tx.ideas.votes_of(self.turn.customer.id))
            lines = [
                f"{n}. {md_escape(shorten(i.text, 90))} · {i.votes} vote"
                f"{'s' if i.votes != 1 else ''}{' · planned' if i.state == 'planned' else ''}"
                f"{' · you voted' if i.id in mine else ''}"
                for n, i in enumerate(ideas, 1)
            ]
            await self.say(
                "**The most-wanted ideas:**\n" + "\n".join(lines) + "\n\nVote with a button;"
                " you'll be told when one you voted for is planned or done.",
                note="showed the ideas",
                buttons=[
                    Button(f"Vote: {shorten(i.text, 40)}", f"{VOTE}{i.id}")
                    for i in ideas
                    if i.id not in mine
                ],
            )
            return
        for known in await self.tx.ideas.top(50):
            if fuzz.token_set_ratio(known.text.casefold(), text.casefold()) >= 90:
                new_vote = await self.tx.ideas.vote(known.id, self.turn.customer.id, self.now)
                votes = known.votes + int(new_vote)
                await self.say(
                    f"Someone suggested that already: “{md_escape(shorten(known.text, 120))}”."
                    f" I've added your vote ({votes} now). You'll be told when it's planned"
                    " or done.",
                    note=f"voted for idea #{known.id}",
                )
                return
        number = await self.tx.ideas.add(self.turn.customer.id, text, self.now)
        self.out += self.d.desk.notice(
            f"💡 Idea #{number} from {md_escape(self.name)}: “{md_escape(shorten(text, 500))}”."
            f" Mark it with /idea planned {number} or /idea done {number}.",
            kind="idea",
            customer_id=self.turn.customer.id,
        )
        await self.say(
            f"Thank you: your idea is recorded as #{number}, with your vote. Others can vote"
            " for it (/idea shows the most-wanted), and you'll be told when it's planned or"
            " done.",
            note=f"recorded idea #{number}",
        )

    async def vote(self, number: str) -> None:
        wanted = small_number(number)
        idea = await self.tx.ideas.get(wanted) if wanted is not None else None
        if idea is None:
            await self.say("That idea is gone. /idea shows the ones there are.")
            return
        new_vote = await self.tx.ideas.vote(idea.id, self.turn.customer.id, self.now)
        votes = idea.votes + int(new_vote)
        said = "Your vote is in" if new_vote else "You had already voted for it"
        await self.say(
            f"{said}: “{md_escape(shorten(idea.text, 100))}” has {votes} vote"
            f"{'s' if votes != 1 else ''}. You'll be told when it's planned or done.",
            note=f"voted for idea #{idea.id}",
        )

    async def mute(self, args: str) -> None:
        spell = args.strip().lower()
        customer = self.turn.customer.id
        if not spell:
            await self.tx.notices.set_quiet(customer, muted_until=None, until_write=True)
            await self.say(
                "Notices (incidents, ideas) are paused until you write to me again. Replies"
                " about your case still come. /unmute turns them on now."
            )
            return
        length = _duration(spell)
        if length is None:
            await self.say("Give a time like /mute 8h, /mute 30m or /mute 2d (or just /mute).")
            return
        until = self.now + length
        await self.tx.notices.set_quiet(customer, muted_until=until, until_write=False)
        await self.say(
            f"Notices are paused until {self.d.when(until)}; held ones come then, in one"
            " message. Replies about your case still come."
        )

    async def quiet(self, args: str) -> None:
        spell = args.strip().lower()
        customer = self.turn.customer.id
        muted_until, until_write, _ = await self.tx.notices.quiet_of(customer)
        if spell in ("off", "none", ""):
            await self.tx.notices.set_quiet(
                customer, muted_until=muted_until, until_write=until_write, quiet_hours=""
            )
            await self.say("No quiet hours: notices come when they happen.")
            return
        found = re.fullmatch(r"(\d{1,2}):?(\d{2})\s*-\s*(\d{1,2}):?(\d{2})", spell)
        if found is None or int(found[1]) > 23 or int(found[3]) > 23:
            await self.say("Give quiet hours like /quiet 22:00-07:00, or /quiet off.")
            return
        hours = f"{int(found[1]):02d}:{found[2]}-{int(found[3]):02d}:{found[4]}"
        await self.tx.notices.set_quiet(
            customer, muted_until=muted_until, until_write=until_write, quiet_hours=hours
        )
        await self.say(
            f"Quiet hours set: {hours} ({self.d.settings.timezone}). Notices that come then"
            " wait until the morning; replies about your case are never held."
        )

    async def my_data(self) -> None:
        data = await self.tx.export_customer(self.turn.customer.id)
        cases = data["cases"]
        identities = ", ".join(f"{i['channel']} ({i['user_id']})" for i in data["identities"])
        events = sum(len(c["events"]) for c in cases)
        case_list = ", ".join(f"#{c['id']} ({c['state']})" for c in cases)
        lines = [
            "**What I store about you**",
            f"• Name: {md_escape(data['customer']['name'] or '(none)')}",
            f"• How I reach you: {md_escape(identities) or '(nowhere)'}",
            f"• Cases: {case_list or 'none'}, with {events} messages and events in all",
            f"• Feedback you gave: {len(data['feedback'])}",
            "",
            "The complete record is in the attached file (JSON). /forget erases all of it.",
        ]
        exported = json.dumps(data, ensure_ascii=False, indent=2)
        await self.record(EventKind.BOT, "showed the customer their data", actor="bot")
        self.out.append(
            Outbound(
                address=self.address,
                text="\n".join(lines),
                cause=Cause.REPLY,
                customer_id=self.turn.customer.id,
                case_id=self.case.id,
                meta={
                    "file": {
                        "name": f"candor-data-{self.turn.customer.id}.json",
                        "type": "application/json",
                        "text": exported,
                    }
                },
            )
        )

    async def forget(self) -> None:
        had_person = self.case.state in (CaseState.WAITING, CaseState.AGENT)
        case = self.case
        address = self.address
        customer_id = self.turn.customer.id
        case_ids = await self.tx.forget_customer(customer_id, self.now)
        if had_person:
            self.out += self.d.desk.to_desk(
                case,
                f"🗑 Case #{case.id} is closed: the customer asked for their data to be erased."
                " Their messages are gone from Candor; please delete any copies you made.",
                kind="forgotten",
            )
        self.out = [m for m in self.out if m.customer_id != customer_id]
        self.out.append(
            Outbound(
                address=address,
                text=(
                    "Done: everything I stored about you is erased"
                    f" ({len(case_ids)} case{'s' if len(case_ids) != 1 else ''}). If you write"
                    " again, I'll start from nothing."
                ),
                cause=Cause.REPLY,
                meta={"erase_when_sent": True},  # the row names their chat; not kept
            )
        )

    async def status(self) -> None:
        case = self.case
        state_words = {
            CaseState.BOT: "open, handled by the bot",
            CaseState.WAITING: "waiting for a person",
            CaseState.AGENT: f"with {md_escape(case.agent or 'a person')} from support",
            CaseState.RESOLVED: "resolved",
        }[case.state]
        lines = [f"**Case #{case.id}**: {state_words}. Opened {self.d.when(case.opened_at)}."]
        if case.subject:
            lines.append(f"About: “{md_escape(shorten(case.subject, 120))}”")
        history = [
            f"• {self.d.when(e.at)}: {line}"
            for e in await self.tx.timeline.recent(case.id, limit=200)
            if (line := self._describe(e)) is not None
        ]
        if history:
            lines.append("\nWhat has happened:")
            if len(history) > 10:
                lines.append(f"(… {len(history) - 10} earlier entries)")
            lines.extend(history[-10:])
        for number in await self.tx.incidents.subscriptions(self.turn.customer.id):
            incident = await self.tx.incidents.get(number)
            if incident is not None and incident.state == "open":
                when = self.d.when(incident.latest_at or incident.opened_at)
                lines.append("\n" + incidents.describe(incident, when))
        lines.append("\nWhat happens next: " + await self._next())
        await self.say("\n".join(lines), note="status shown")

    def _describe(self, event: Event) -> str | None:
        """A line of the customer's view of the timeline (internal notes never)."""
        text = md_escape(shorten(event.text, 70))
        kind = event.kind
        if kind is EventKind.CUSTOMER:
            if event.data.get("command") or event.data.get("button") or not event.text:
                return None
            return f"you wrote “{text}”"
        if kind is EventKind.ATTACHMENT:
            return "you sent a file"
        if kind is EventKind.ANSWER:
            return f"I answered with the article “{text}”"
        if kind is EventKind.CLARIFY:
            return "I asked which topic you meant"
        if kind is EventKind.UNKNOWN:
            return "I said I didn't know"
        if kind is EventKind.HANDOVER:
            return f"your case went to the queue for a person ({text})"
        if kind is EventKind.CLAIM:
            return f"{md_escape(event.actor)} from support took your case"
        if kind is EventKind.AGENT:
            return f"{md_escape(event.actor)} wrote “{text}”"
        if kind is EventKind.STATE:
            return shorten(event.text, 70)  # the bot's own words, nothing to escape
        if kind is EventKind.RATING:
            return "you rated the help" if "score" in event.data else "you commented on it"
        return None

    async def _next(self) -> str:
        state = self.case.state
        if state is CaseState.BOT:
            if self.case.pending_reason:
                return "confirm the summary I showed you, and a person will take your case."
            return "ask me anything, or type /human and a person will take your case."
        if state is CaseState.WAITING:
            return await self.d.desk.waiting_words(self.tx, self.case, self.now)
        if state is CaseState.AGENT:
            return f"{md_escape(self.case.agent or 'a person')} from support will reply here."
        return "nothing: the case is resolved. Write again if it isn't, and it reopens."

    # -- answers ----------------------------------------------------------------------------

    async def answer(self, text: str) -> None:
        decision: Decision = self.d.knowledge.decide(text[:MAX_MATCHED])
        if decision.kind == "answer" and decision.candidates:
            best = decision.candidates[0]
            await self.show_article(best.article.id, score=best.score, chosen=False)
        elif decision.kind == "clarify" and decision.candidates:
            options = decision.candidates
            if len(options) == 1:
                title = md_escape(options[0].article.title)
                question = (
                    f"I'm not sure I understood. Do you mean “{title}”? Pick it, tell me more,"
                    " or choose “None of these”."
                )
            else:
                lines = "\n".join(
                    f"{i}. {md_escape(c.article.title)}" for i, c in enumerate(options, 1)
                )
                question = (
                    f"I'm not sure which of these you mean:\n{lines}\n\nPick one, tell me more,"
                    " or choose “None of these”."
                )
            await self.say(
                question,
                kind=EventKind.CLARIFY,
                note="asked which topic was meant",
                buttons=[Button(c.article.title, ARTICLE + c.article.id) for c in options]
                + [Button("None of these", NONE_OF_THESE)],
                options=[c.article.id for c in options],
                scores=[round(c.score, 3) for c in options],
            )
        else:
            await self.not_answered(
                "I don't know that, and I'd rather say so than guess.",
                best=[c.article.id for c in decision.candidates[:3]],
            )

    async def not_answered(self, opening: str, **data: object) -> None:
        """Count an unanswered question; after too many in a row, offer a person."""
        await self.save_case(unanswered=self.case.unanswered + 1)
        if self.case.unanswered >= self.d.settings.unknown_limit:
            await self.propose_handover(
                f"the bot could not answer {self.case.unanswered} times in a row",
                opening=f"{opening} That's twice now I couldn't help, so let me get a person.",
            )
            return
        await self.say(
            f"{opening} A person from {self.d.settings.company} can help: type /human or press"
            " the button, and they'll see what you asked.",
            kind=EventKind.UNKNOWN,
            note="said it did not know",
            buttons=[Button("Talk to a person", HUMAN)],
            **data,
        )

    async def show_article(self, article_id: str, *, score: float | None, chosen: bool) -> None:
        article = self.d.knowledge.get(article_id)
        assert article is not None
        if self.case.unanswered:
            await self.save_case(unanswered=0)
        text = f"{article.body.strip()}\n\n_Source: the article “{md_escape(article.title)}”._"
        await self.say(
            text,
            kind=EventKind.ANSWER,
            note=article.title,
            article=article.id,
            score=None if score is None else round(score, 3),
            chosen=chosen,
        )
        if article.handover:
            await self.propose_handover(
                f"the article “{article.title}” asks for a person",
                opening="This is something a person should look at, so I'll offer you one now.",
            )

    async def repeated(self, text: str) -> bool:
        """The same question again, after the bot already answered it."""
        wanted = " ".join(text.casefold().split())
        events = await self.tx.timeline.recent(self.case.id, limit=30)
        earlier = [
            e
            for e in events[:-1]
            if e.kind is EventKind.CUSTOMER and " ".join(e.text.casefold().split()) == wanted
        ]
        return bool(earlier) and any(
            e.kind in (EventKind.ANSWER, EventKind.UNKNOWN) and e.id > earlier[-1].id
            for e in events
        )

    async def last_bot_kind(self) -> EventKind | None:
        for event in reversed(await self.tx.timeline.recent(self.case.id, limit=10)):
            if event.actor == "bot":
                return event.kind
        return None

    # -- handover ---------------------------------------------------------------------------

    async def propose_handover(self, reason: str, *, opening: str = "", extra: str = "") -> None:
        """Show the summary the bot will pass on; the customer sends it or adds to it."""
        if self.case.state is not CaseState.BOT:
            await self.relay(self.text)
            return
        events = await self.tx.timeline.recent(self.case.id, limit=100)
        draft = summarise(self.case, self.turn.customer, events)
        if extra:
            draft += f"\n• In their words: “{md_escape(shorten(extra, 300))}”"
        await self.save_case(pending_reason=reason, draft_summary=draft)
        await self.show_draft(opening)

    async def show_draft(self, opening: str = "") -> None:
        lead = f"{opening}\n\n" if opening else ""
        await self.say(
            f"{lead}This is what I will pass on to a person:\n\n{self.case.draft_summary}\n\n"
            "Send it as it is, or add something first?",
            note="showed the summary for a person",
            buttons=[
                Button("Send it", SEND),
                Button("Add something", ADD),
                Button("Cancel", CANCEL),
            ],
            summary=self.case.draft_summary,
        )

    async def add_to_summary(self, text: str) -> None:
        draft = f"{self.case.draft_summary}\n• They added: “{md_escape(shorten(text, 300))}”"
        await self.save_case(draft_summary=draft)
        await self.show_draft("Added.")

    async def hand_over(self) -> None:
        """The customer confirmed: into the queue, a card on the desk, and the truth
        about the wait."""
        if self.case.state is not CaseState.BOT:
            await self.relay("")
            return
        reason = self.case.pending_reason or ASKED_FOR_PERSON
        summary = self.case.draft_summary or summarise(
            self.case, self.turn.customer, await self.tx.timeline.recent(self.case.id, limit=100)
        )
        await self.save_case(
            state=CaseState.WAITING,
            handover_reason=reason,
            handed_over_at=self.now,
            summary=summary,
            pending_reason="",
            draft_summary="",
            alerted_at=None,
            unanswered=0,
        )
        await self.record(EventKind.HANDOVER, reason, actor="bot", summary=summary)
        self.out += self.d.desk.card(
            self.case,
            self.turn.customer,
            self.address.channel,
            await self.tx.timeline.recent(self.case.id, limit=30),
        )
        await self.say(
            f"Done: case #{self.case.id} is with the people at {self.d.settings.company},"
            " with that summary and everything you've told me. "
            + await self.d.desk.waiting_words(self.tx, self.case, self.now),
            note="told the customer their place in the queue",
        )

    async def relay(self, text: str) -> None:
        """While a person has (or will have) the case, what the customer writes goes
        to the desk; the bot does not talk over the person."""
        if text:
            self.to_desk(f"**{md_escape(self.name or 'Customer')}:** {md_escape(text)}", "relay")
        if self.case.state is CaseState.WAITING:
            await self.say(
                f"Added to case #{self.case.id}. "
                + await self.d.desk.waiting_words(self.tx, self.case, self.now),
                note="added to the case while waiting",
            )

    # -- rating -----------------------------------------------------------------------------

    async def rate(self, value: str) -> None:
        number = small_number(value)
        if self.case.state is not CaseState.RESOLVED or number is None:
            await self.say("There's nothing to rate right now, but thank you!")
            return
        events = await self.tx.timeline.recent(self.case.id, limit=50)
        if any(e.kind is EventKind.RATING and "score" in e.data for e in events):
            await self.say(f"You've already rated case #{self.case.id}. Thank you!")
            return
        score = max(1, min(5, number))
        await self.record(EventKind.RATING, str(score), score=score)
        self.to_desk(
            f"⭐ {md_escape(self.name or 'The customer')} rated case #{self.case.id}: {score}/5",
            "rating",
        )
        await self.say(
            f"Thank you for rating case #{self.case.id}: {score} out of 5. If you'd like to say"
            " more, write it now and it goes to the team with your rating.",
            note="thanked for the rating",
        )

    async def rating_comment(self, text: str) -> None:
        await self.record(EventKind.RATING, text, comment=True)
        self.to_desk(
            f"💬 {md_escape(self.name or 'The customer')} on case #{self.case.id}:"
            f" “{md_escape(text)}”",
            "rating",
        )
        await self.say("Thanks, I've passed that on to the team.", note="thanked for the comment")
