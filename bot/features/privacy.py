"""The customer's data on their terms: `/mydata` shows and exports everything
stored about them; `/forget` erases it, after they confirm (the confirmation is a
state of the case: an old or forged "yes" button erases nothing)."""

from __future__ import annotations

import json
from collections.abc import Callable

from bot.features.recent import in_words
from bot.i18n import N_, NAMES, _, ngettext
from bot.model import (
    Button,
    CaseState,
    Cause,
    Conversation,
    Delivery,
    EventKind,
    Outbound,
    SentFile,
)
from bot.registry import Feature, pack
from bot.text import md_escape
from bot.turn import Turn

feature = Feature("privacy")

FORGET_YES, FORGET_NO = pack("forget", "yes"), pack("forget", "no")


@feature.command(
    "mydata", aliases=("data",), help=N_("see and download everything stored about you")
)
async def my_data(turn: Turn, args: str) -> None:
    data = await turn.tx.export_customer(turn.customer.id)
    cases = data["cases"]
    for case in cases:  # what the bot keeps to read their next message by, in words
        if case["waiting_for_you"] == Conversation.AWAITING_FOLLOW_UP.value:
            case["waiting_for_you"] = in_words(case["your_message_waiting"] or "", _title(turn))
            case["your_message_waiting"] = None
    identities = ", ".join(f"{i['channel']} ({i['user_id']})" for i in data["identities"])
    events = sum(len(c["events"]) for c in cases)
    case_list = ", ".join(f"#{c['id']} ({c['state']})" for c in cases)
    language = data["customer"].get("language") or turn.language
    lines = [
        _("**What I store about you**"),
        _("• Name: {name}").format(name=md_escape(data["customer"]["name"]) or _("(none)")),
        _("• How I reach you: {where}").format(where=md_escape(identities) or _("(nowhere)")),
        _("• Cases: {cases}, with {events} messages and events in all").format(
            cases=case_list or _("none"), events=events
        ),
        _("• Feedback you gave: {count}").format(count=len(data["feedback"])),
        _("• Language: {language}").format(language=NAMES.get(language, language))
        + (" " + _("(you chose it)") if data["customer"].get("language_chosen") else ""),
        "",
        _("The complete record is in the attached file (JSON). /forget erases all of it."),
    ]
    exported = json.dumps(data, ensure_ascii=False, indent=2)
    await turn.record(EventKind.BOT, "showed the customer their data", actor="bot")
    turn.out.append(
        await turn.reply(
            "\n".join(lines),
            private=True,  # their data, and the file of all of it
            delivery=Delivery(
                file=SentFile(f"candor-data-{turn.customer.id}.json", exported, "application/json")
            ),
        )
    )


def _title(turn: Turn) -> Callable[[str], str | None]:
    def title(article_id: str) -> str | None:
        article = turn.knowledge.get(article_id, turn.language)
        return None if article is None else article.title

    return title


@feature.command("forget", help=N_("erase everything stored about you"))
async def forget(turn: Turn, args: str) -> None:
    await turn.wait_for(Conversation.AWAITING_FORGET_CONFIRMATION)
    await turn.say_privately(
        _(
            "This erases everything I store about you: your messages, your cases' contents,"
            " your feedback and how to reach you. A person who has your case is told it was"
            " closed. What stays is anonymous counts (how many cases, how long they took),"
            " nothing that says who you were. You can see it all first with /mydata."
            " Erase everything now?"
        ),
        note="asked to confirm erasing the customer's data",
        buttons=[Button(_("Yes, erase everything"), FORGET_YES), Button(_("No"), FORGET_NO)],
    )


@feature.button("forget", str, on_resolved=True)
async def confirm(turn: Turn, fields: tuple[object, ...]) -> None:
    if not turn.waiting_for(Conversation.AWAITING_FORGET_CONFIRMATION):
        await turn.say_privately(
            _("Nothing was erased: that question has expired. Type /forget to be asked again.")
        )
        return
    if fields[0] != "yes":
        await turn.stop_waiting()
        await turn.say_privately(_("Nothing was erased."), note="the customer kept their data")
        return
    await erase(turn)


async def erase(turn: Turn) -> None:
    case = turn.case
    had_person = case.state in (CaseState.WAITING, CaseState.AGENT)
    address = turn.address
    customer_id = turn.customer.id
    # the desk first, while its threads are still mapped: every card and thread name
    # of theirs made neutral, and the person on the case told, in its thread
    desk = await turn.desk.erased(
        turn.tx, await turn.tx.cases.ids_of(customer_id), told=case.id if had_person else None
    )
    case_ids = await turn.tx.forget_customer(customer_id, turn.now)
    turn.out = [m for m in turn.out if m.customer_id != customer_id] + desk
    turn.out.append(
        turn.privately(
            Outbound(
                address=address,
                text=ngettext(
                    "Done: everything I stored about you is erased ({n} case). If you write"
                    " again, I'll start from nothing.",
                    "Done: everything I stored about you is erased ({n} cases). If you write"
                    " again, I'll start from nothing.",
                    len(case_ids),
                ).format(n=len(case_ids)),
                cause=Cause.REPLY,
                delivery=Delivery(erase_when_sent=True),  # the row names their chat; not kept
            )
        )
    )
