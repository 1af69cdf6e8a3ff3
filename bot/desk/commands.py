"""What agents do with cases: claim, open (see all of it), reply, note, resolve, hand
back, transfer, and see the queue. Each is declared here once; `/help` on a desk
lists them."""

from __future__ import annotations

from typing import Any

from bot.config import AgentSettings
from bot.desk.desk import minutes
from bot.desk.turn import DeskTurn, desk_help
from bot.desk.view import HISTORY, case_view
from bot.features.rating import rating_buttons
from bot.i18n import _
from bot.model import Case, CaseState, Conversation, Customer, Delivery, EventKind, Purpose
from bot.registry import Feature
from bot.report import (
    ReportData,
    ReportSection,
    duration,
    first_handovers,
    line,
    median_minutes,
    percentile_minutes,
)
from bot.text import md_escape, plural
from bot.web.signin import issue_link, link_message

feature = Feature("desk")


@feature.button("desk", str, int, desk=True)
async def pressed(turn: DeskTurn, fields: tuple[object, ...]) -> None:
    """A card's buttons: Claim, Resolve, Back to bot (`desk:claim:12`)."""
    action, case_id = fields
    command = turn.services.registry.desk_command(str(action))
    if command is None or command.case == "none":
        turn.answer(desk_help(turn.services))
        return
    await turn.dispatch(command, "", int(str(case_id)))


@feature.desk_command("help", help="this list")
async def show_help(turn: DeskTurn, args: str) -> None:
    turn.answer(desk_help(turn.services))


@feature.desk_command("cases", aliases=("queue",), help="the queue")
async def list_queue(turn: DeskTurn, args: str) -> None:
    cases = await turn.tx.cases.queue()
    if not cases:
        turn.answer("Nobody is waiting. 🎉")
        return
    lines = []
    for case in cases:
        customer = await turn.tx.customers.get(case.customer_id)
        name = md_escape(customer.name if customer and customer.name else "a customer")
        since = case.handed_over_at or case.updated_at
        waited = minutes((turn.now - since).total_seconds())
        where = "waiting" if case.state is CaseState.WAITING else f"with {case.agent}"
        lines.append(
            f"#{case.id} · {name} · {where} · {waited} · {md_escape(case.handover_reason)}"
        )
    turn.answer("**The queue:**\n" + "\n".join(lines))


@feature.desk_command("dashboard", help="a sign-in link to the web dashboard, for you alone")
async def dashboard(turn: DeskTurn, args: str) -> None:
    """Only agents reach a desk command (`handle`); the link goes to them alone."""
    token = await issue_link(turn.tx, turn.agent.name, turn.now)
    inbound = turn.inbound
    turn.out.append(
        link_message(
            inbound.address,
            inbound.identity.user_id,
            turn.services.settings.web_url,
            token,
            turn.now,
        )
    )
    if not inbound.address.private:
        turn.answer(
            "I sent you a sign-in link to the dashboard, for your eyes alone: only you see"
            " it here, or it comes in your private chat with me where this chat cannot show"
            " one person a message (if it does not come, start that chat and type /dashboard"
            " again)."
        )


def _times(data: ReportData) -> dict[str, Any]:
    """From each case's first handover to the first claim and to the first reply of
    a person after it (a claim or reply before the handover, on a case a person took
    from the bot, is no wait); opened to resolved for resolved cases."""
    handed = first_handovers(data.events)
    replied: dict[int, float] = {}
    claimed: dict[int, float] = {}
    for event in data.events:
        at = event.at.timestamp()
        if event.case_id not in handed or at < handed[event.case_id]:
            continue
        if event.kind is EventKind.AGENT:
            replied.setdefault(event.case_id, at)
        elif event.kind is EventKind.CLAIM:
            claimed.setdefault(event.case_id, at)
    resolved = [
        case.resolved_at.timestamp() - case.opened_at.timestamp()
        for case in data.cases
        if case.state is CaseState.RESOLVED and case.resolved_at is not None
    ]
    replies = [replied[c] - handed[c] for c in replied]
    waits = [claimed[c] - handed[c] for c in claimed]
    return {
        "median_first_reply_minutes": median_minutes(replies),
        "median_resolution_minutes": median_minutes(resolved),
        "median_wait_to_claim_minutes": median_minutes(waits),
        "p90_first_reply_minutes": percentile_minutes(replies, 90),
        "p90_wait_to_claim_minutes": percentile_minutes(waits, 90),
        "p99_first_reply_minutes": percentile_minutes(replies, 99),
        "p99_wait_to_claim_minutes": percentile_minutes(waits, 99),
        "first_replies": len(replies),
        "claims_after_handover": len(waits),
    }


def _times_text(report: dict[str, Any]) -> list[str]:
    return [
        "Times (medians)",
        line("First human reply", duration(report["median_first_reply_minutes"]))
        + "  (handover to the first reply from a person)",
        line("Resolution", duration(report["median_resolution_minutes"]))
        + "  (opened to resolved)",
        line("Wait to claim", duration(report["median_wait_to_claim_minutes"]))
        + "  (handover to an agent taking the case)",
        line("First reply, 90th pct", duration(report["p90_first_reply_minutes"])),
        line("Wait to claim, 90th pct", duration(report["p90_wait_to_claim_minutes"])),
        line("First reply, 99th pct", duration(report["p99_first_reply_minutes"]))
        + f"  ({plural(report['first_replies'], 'case')})",
        line("Wait to claim, 99th pct", duration(report["p99_wait_to_claim_minutes"]))
        + f"  ({plural(report['claims_after_handover'], 'case')})",
    ]


feature.report_section(ReportSection("Times (medians)", 30, _times, _times_text))


async def claim(turn: DeskTurn, agent: AgentSettings, case: Case, *, quiet: bool = False) -> Case:
    if case.state is CaseState.RESOLVED:
        turn.answer(f"Case #{case.id} is resolved. It reopens when the customer writes again.")
        return case
    if case.state is CaseState.AGENT and case.agent == agent.name:
        if not quiet:
            turn.answer(f"You already have case #{case.id}.")
        return case
    if case.state is CaseState.AGENT:
        turn.answer(
            f"Case #{case.id} is with {md_escape(case.agent)}. To take it over:"
            f" /transfer {md_escape(agent.name)} {case.id}"
        )
        return case
    return await turn.transition(
        case,
        state=CaseState.AGENT,
        agent=agent.name,
        claimed_at=case.claimed_at or turn.now,
        pending_reason="",
        draft_summary="",
        conversation=Conversation.NONE,
        conversation_until=None,
        event=(EventKind.CLAIM, "claimed"),
        customer=_(
            "**{agent}** from support has your case #{case} now and will reply here."
        ).format(agent=md_escape(agent.name), case=case.id),
        desk=(f"✋ {md_escape(agent.name)} claimed case #{case.id}.", Purpose.CLAIMED),
    )


@feature.desk_command("claim", help="take the case", case="first")
async def claim_case(turn: DeskTurn, case: Case, customer: Customer, args: str) -> None:
    await claim(turn, turn.agent, case)


@feature.desk_command(
    "open", help="the whole case: its card, history and notes, for you alone", case="first"
)
async def open_case(turn: DeskTurn, case: Case, customer: Customer, args: str) -> None:
    """What a transferee (or anyone taking a case up) reads first; an answer to the
    agent who asked, so notes stay on the desk."""
    where = await turn.tx.customers.address_of(case.customer_id)
    events = await turn.tx.timeline.recent(case.id, limit=HISTORY)
    turn.answer(case_view(turn.desk, case, customer, where.channel if where else "?", events))


@feature.desk_command(
    "reply", aliases=("say",), help="write to the customer", case="first", usage="N TEXT"
)
async def reply(turn: DeskTurn, case: Case, customer: Customer, text: str) -> None:
    agent = turn.agent
    if not text:
        turn.answer("An empty reply was not sent.")
        return
    if case.state in (CaseState.WAITING, CaseState.BOT):
        case = await claim(turn, agent, case, quiet=True)
    elif case.state is CaseState.AGENT and case.agent != agent.name:
        turn.answer(
            f"Case #{case.id} is with {md_escape(case.agent)}; your reply was not sent."
            f" To take it over: /transfer {md_escape(agent.name)} {case.id}"
        )
        return
    await turn.tx.timeline.append(case.id, EventKind.AGENT, agent.name, text, turn.now)
    receipt = turn.inbound.address
    await turn.tell_customer(
        case,
        _("**{agent}** (support): {text}").format(
            agent=md_escape(agent.name), text=md_escape(text)
        ),
        delivery=Delivery(purpose=Purpose.AGENT_REPLY, receipt_to=receipt),
    )


@feature.desk_command("note", help="an internal note", case="thread", usage="TEXT")
async def note(turn: DeskTurn, case: Case, customer: Customer, text: str) -> None:
    if not text:
        turn.answer("Write the note after /note (or note:).")
        return
    await turn.tx.timeline.append(case.id, EventKind.NOTE, turn.agent.name, text, turn.now)
    turn.answer(f"📝 Note saved on case #{case.id}. The customer never sees notes.")


@feature.desk_command("resolve", aliases=("close",), help="mark it resolved", case="first")
async def resolve(turn: DeskTurn, case: Case, customer: Customer, args: str) -> None:
    if case.state is CaseState.RESOLVED:
        turn.answer(f"Case #{case.id} is already resolved.")
        return
    name = turn.agent.name
    told = _(
        "{agent} has marked your case #{case} as resolved. If it isn't, just write and it reopens."
    ).format(agent=md_escape(name), case=case.id)
    # a case is rated once: resolved again after a reopen, it is not asked again
    rated = any(
        e.kind is EventKind.RATING and "score" in e.data
        for e in await turn.tx.timeline.whole(case.id)
    )
    await turn.transition(
        case,
        state=CaseState.RESOLVED,
        resolved_at=turn.now,
        pending_reason="",
        draft_summary="",
        event=(EventKind.STATE, f"resolved by {name}"),
        customer=told if rated else told + "\n\n" + _("How did we do? Tap 1 (poor) to 5 (great)."),
        buttons=() if rated else rating_buttons(),
        desk=(f"✔ Case #{case.id} resolved by {md_escape(name)}.", Purpose.RESOLVED),
    )


@feature.desk_command("bot", help="hand it back to the bot", case="first")
async def back_to_bot(turn: DeskTurn, case: Case, customer: Customer, args: str) -> None:
    if case.state is CaseState.RESOLVED:
        turn.answer(f"Case #{case.id} is resolved.")
        return
    name = turn.agent.name
    await turn.transition(
        case,
        state=CaseState.BOT,
        agent="",
        event=(EventKind.STATE, f"handed back to the bot by {name}"),
        customer=_(
            "{agent} handed your case #{case} back to me, the bot. Ask me anything, or type"
            " /human for a person again."
        ).format(agent=md_escape(name), case=case.id),
        desk=(f"↩ Case #{case.id} is back with the bot.", Purpose.TO_BOT),
    )


@feature.desk_command("transfer", help="give it to another agent", case="second", usage="NAME")
async def transfer(turn: DeskTurn, case: Case, customer: Customer, target_name: str) -> None:
    target = turn.desk.agent_named(target_name) if target_name else None
    if target is None:
        names = ", ".join(a.name for a in turn.desk.agents)
        turn.answer(f"Transfer to whom? Agents: {names}. Example: /transfer Sam")
        return
    if case.state is CaseState.RESOLVED:
        turn.answer(f"Case #{case.id} is resolved.")
        return
    before = case.agent or "the queue"
    await turn.transition(
        case,
        state=CaseState.AGENT,
        agent=target.name,
        claimed_at=case.claimed_at or turn.now,
        event=(EventKind.STATE, f"transferred from {before} to {target.name}"),
        customer=_(
            "**{agent}** from support has your case #{case} now and will reply here."
        ).format(agent=md_escape(target.name), case=case.id),
        desk=(
            f"→ Case #{case.id} transferred to {md_escape(target.name)}"
            f" by {md_escape(turn.agent.name)}. {md_escape(target.name)}: /open {case.id}"
            " shows its card, history and notes.",
            Purpose.TRANSFERRED,
        ),
    )
