"""What customers send besides text: edits and deletions (a person on the case
hears of them), files (kept on the case for a person), and things the bot cannot
use (stickers, locations), each answered politely."""

from __future__ import annotations

from dataclasses import replace

from bot.i18n import N_, _
from bot.model import CaseState, EventKind, InboundKind, Purpose
from bot.registry import Feature
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("media")

WITH_PERSON = (CaseState.WAITING, CaseState.AGENT)


@feature.receives(InboundKind.EDIT)
async def edited(turn: Turn) -> None:
    inbound = turn.inbound
    if inbound.payload == "deleted":
        await turn.record(EventKind.EDIT, "", edited=inbound.edited_key, deleted=True)
        if turn.case.state in WITH_PERSON:
            turn.to_desk(f"{md_escape(turn.name)} deleted a message.", Purpose.EDIT)
        return
    await turn.record(EventKind.EDIT, turn.text, edited=inbound.edited_key)
    if turn.case.state in WITH_PERSON:
        turn.to_desk(
            f"{md_escape(turn.name)} edited a message: “{md_escape(turn.text)}”", Purpose.EDIT
        )


@feature.receives(InboundKind.ATTACHMENT)
async def attachment(turn: Turn) -> None:
    inbound = turn.inbound
    refs = [
        {"kind": a.kind, "ref": a.ref, "caption": a.caption, "name": a.name}
        for a in inbound.attachments
    ]  # as the timeline keeps them
    await turn.record(EventKind.ATTACHMENT, turn.text, attachments=refs)
    case = turn.case
    if case.state in WITH_PERSON:
        kinds = ", ".join(sorted({a.kind for a in inbound.attachments})) or "file"
        caption = f": “{md_escape(turn.text)}”" if turn.text else ""
        turn.out += [
            replace(message, delivery=replace(message.delivery, attachments=inbound.attachments))
            for message in turn.desk.to_desk(
                case, f"{md_escape(turn.name)} sent a {kinds}{caption}", purpose=Purpose.ATTACHMENT
            )
        ]
        if case.state is CaseState.WAITING:
            await turn.say(_("Thanks, I've added that to case #{case}.").format(case=case.id))
        return
    await turn.say(
        _(
            "Thanks, I've kept that on case #{case}. I can't look inside files myself; a"
            " person will see it with the rest of your case. Type /human if you'd like one"
            " now."
        ).format(case=case.id)
    )


# What adapters call the things the bot cannot use, as the customer's language says
# "thanks for the …" (another adapter's word is quoted as it is, after "the").
_THINGS = {
    "sticker": N_("the sticker"),
    "location": N_("the location"),
    "place": N_("the place"),
    "contact": N_("the contact"),
    "poll": N_("the poll"),
    "dice": N_("the dice"),
    "game": N_("the game"),
    "video message": N_("the video message"),
    "GIF": N_("the GIF"),
    "story": N_("the story"),
}


@feature.receives(InboundKind.OTHER)
async def unusable(turn: Turn) -> None:
    what = shorten(turn.text or "that", 40)
    await turn.record(EventKind.CUSTOMER, "", unsupported=what)
    if turn.case.state is not CaseState.AGENT:
        known = _THINGS.get(what)
        thing = _(known) if known else _("the {thing}").format(thing=md_escape(what))
        await turn.say(
            _(
                "Thanks for {thing}! I can't do anything with it, though: I read text, and"
                " I keep photos and files for a person. Type your question, or /human."
            ).format(thing=thing)
        )
