"""A one-tap rating after each resolved case, and a comment only when the bot asked
for one ("anything to add?"): a question is always answered, never taken as a
comment."""

from __future__ import annotations

import statistics
from typing import Any

from bot.i18n import _
from bot.model import Button, CaseState, Conversation, EventKind, InboundKind, Purpose
from bot.registry import Feature, pack
from bot.report import ReportData, ReportSection, bars, line
from bot.signals import looks_like_question, not_solved, wants_person
from bot.text import md_escape
from bot.turn import Turn

feature = Feature("rating")


def rating_buttons() -> tuple[Button, ...]:
    return tuple(Button(str(n), pack("rate", n)) for n in range(1, 6))


def awaiting_comment(turn: Turn) -> bool:
    """Rated, asked for a comment, and this is a comment: plain text that is not a
    question, not a request for a person, not "it is still broken"."""
    if not turn.waiting_for(Conversation.AWAITING_RATING_COMMENT):
        return False
    if turn.inbound.kind is not InboundKind.MESSAGE or turn.command is not None:
        return False
    text = turn.text
    return not (looks_like_question(text) or wants_person(text) or not_solved(text))


def _ratings(data: ReportData) -> dict[str, Any]:
    scores = []
    for event in data.events:
        score = event.data.get("score") if event.kind is EventKind.RATING else None
        if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5:
            scores.append(score)
    return {
        "ratings": {
            "count": len(scores),
            "average": round(statistics.fmean(scores), 2) if scores else None,
            "distribution": {str(n): scores.count(n) for n in range(1, 6)},
        }
    }


def _ratings_text(report: dict[str, Any]) -> list[str]:
    ratings = report["ratings"]
    if not ratings["count"]:
        return ["Ratings", "  no ratings yet"]
    return [
        "Ratings",
        line("Count", ratings["count"]),
        line("Average", f"{ratings['average']:.2f} out of 5"),
        *bars({int(k): int(v) for k, v in ratings["distribution"].items()}),
    ]


feature.report_section(ReportSection("Ratings", 40, _ratings, _ratings_text))


@feature.button("rate", int, on_resolved=True)
async def rate(turn: Turn, fields: tuple[object, ...]) -> None:
    case = turn.case
    if case.state is not CaseState.RESOLVED:
        await turn.say_privately(_("There's nothing to rate right now, but thank you!"))
        return
    events = await turn.tx.timeline.whole(case.id)  # (a rating long ago counts too)
    if any(e.kind is EventKind.RATING and "score" in e.data for e in events):
        await turn.say_privately(
            _("You've already rated case #{case}. Thank you!").format(case=case.id)
        )
        return
    score = max(1, min(5, int(str(fields[0]))))
    await turn.record(EventKind.RATING, str(score), score=score)
    turn.to_desk(
        f"⭐ {md_escape(turn.name or 'The customer')} rated case #{case.id}: {score}/5",
        Purpose.RATING,
    )
    await turn.wait_for(
        Conversation.AWAITING_RATING_COMMENT, within=turn.settings.rating_comment_window
    )
    await turn.say(
        _(
            "Thank you for rating case #{case}: {score} out of 5. Anything to add? If you'd"
            " like to say more, write it now and it goes to the team with your rating."
        ).format(case=case.id, score=score),
        note="thanked for the rating",
    )


@feature.step("rating comment", order=30, when=awaiting_comment)
async def comment(turn: Turn) -> bool:
    text = turn.text
    await turn.record(EventKind.RATING, text, comment=True)
    await turn.stop_waiting()
    turn.to_desk(
        f"💬 {md_escape(turn.name or 'The customer')} on case #{turn.case.id}: “{md_escape(text)}”",
        Purpose.RATING,
    )
    await turn.say(_("Thanks, I've passed that on to the team."), note="thanked for the comment")
    return True
