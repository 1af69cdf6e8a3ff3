"""Answers from the knowledge base: one article when the matcher is sure, a choice
of two or three when it is not, and "I don't know" (with a person on offer) when
nothing fits. Every answer names its article. Questions the bot could not answer
in a row are counted; at the limit it offers a person itself."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bot.features import handover
from bot.knowledge import Candidate
from bot.model import Button, EventKind
from bot.registry import Feature, RegistryError, pack
from bot.report import ReportData, ReportSection, counted, normalise
from bot.text import md_escape
from bot.turn import Turn

log = logging.getLogger(__name__)

feature = Feature("answers")

NONE_OF_THESE = pack("none")


def article_buttons(options: Sequence[Candidate]) -> list[Button]:
    """A button per article offered; one whose id is too long for a button's payload
    is left out (it is still listed by its title)."""
    buttons = []
    for option in options:
        try:
            buttons.append(Button(option.article.title, pack("article", option.article.id)))
        except RegistryError:
            log.warning("article %r: its id is too long for a button", option.article.id)
    return buttons


@feature.step("answer", order=100)
async def answer(turn: Turn) -> bool:
    decision = turn.decide(turn.text)
    if decision.kind == "answer" and decision.candidates:
        best = decision.candidates[0]
        await show_article(turn, best.article.id, score=best.score, chosen=False)
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
        await turn.say(
            question,
            kind=EventKind.CLARIFY,
            note="asked which topic was meant",
            buttons=[*article_buttons(options), Button("None of these", NONE_OF_THESE)],
            options=[c.article.id for c in options],
            scores=[round(c.score, 3) for c in options],
        )
    else:
        await not_answered(
            turn,
            "I don't know that, and I'd rather say so than guess.",
            best=[c.article.id for c in decision.candidates[:3]],
        )
    return True


async def not_answered(turn: Turn, opening: str, **data: object) -> None:
    """Count an unanswered question (every one of them goes on the timeline as
    such); after too many in a row, offer a person."""
    await turn.save_case(unanswered=turn.case.unanswered + 1)
    count = turn.case.unanswered
    if count >= turn.settings.unknown_limit:
        await turn.record(EventKind.UNKNOWN, "said it did not know", actor="bot", **data)
        await handover.propose(
            turn,
            f"the bot could not answer {count} times in a row",
            opening=f"{opening} That's {'twice' if count == 2 else f'{count} times'} now I"
            " couldn't help, so let me get a person.",
        )
        return
    await turn.say(
        f"{opening} A person from {turn.settings.company} can help: type /human or press"
        " the button, and they'll see what you asked.",
        kind=EventKind.UNKNOWN,
        note="said it did not know",
        buttons=[Button("Talk to a person", handover.HUMAN)],
        **data,
    )


async def show_article(turn: Turn, article_id: str, *, score: float | None, chosen: bool) -> None:
    article = turn.knowledge.get(article_id)
    assert article is not None
    if turn.case.unanswered:
        await turn.save_case(unanswered=0)
    text = f"{article.body.strip()}\n\n_Source: the article “{md_escape(article.title)}”._"
    await turn.say(
        text,
        kind=EventKind.ANSWER,
        note=article.title,
        article=article.id,
        score=None if score is None else round(score, 3),
        chosen=chosen,
    )
    if article.handover:
        await handover.propose(
            turn,
            f"the article “{article.title}” asks for a person",
            opening="This is something a person should look at, so I'll offer you one now.",
        )


TOP_UNANSWERED = 10  # questions the report lists


def _unanswered(data: ReportData) -> dict[str, Any]:
    """Each "I don't know" counts the customer's question before it on its case: the
    last thing they wrote, not a button they pressed since ("None of these" after the
    bot asked which article was meant, the press that may hand the case over) nor a
    command."""
    asked: Counter[str] = Counter()
    last: dict[int, str] = {}
    for event in data.events:
        if event.kind is EventKind.CUSTOMER:
            if event.text and not event.data.get("button") and not event.data.get("command"):
                last[event.case_id] = event.text
        elif event.kind is EventKind.UNKNOWN:
            question = normalise(last.pop(event.case_id, ""))
            if question:
                asked[question] += 1
    ranked = sorted(asked.items(), key=lambda item: (-item[1], item[0]))[:TOP_UNANSWERED]
    return {"top_unanswered": [{"question": q, "count": n} for q, n in ranked]}


def _unanswered_text(report: dict[str, Any]) -> list[str]:
    rows = [(q["question"], int(q["count"])) for q in report["top_unanswered"]]
    return [
        "Top unanswered questions (material for new knowledge articles)",
        *(
            counted(rows, ("time", "times"))
            if rows
            else ["  none: the bot had an answer every time"]
        ),
    ]


feature.report_section(ReportSection("Top unanswered questions", 50, _unanswered, _unanswered_text))


@feature.button("article", str)
async def picked(turn: Turn, fields: tuple[object, ...]) -> None:
    article = turn.knowledge.get(str(fields[0]))
    if article is None:
        await turn.say_privately(
            "That article is no longer in the knowledge base. Ask me again in your"
            " own words, or type /human for a person."
        )
        return
    await show_article(turn, article.id, score=None, chosen=True)


@feature.button("none")
async def none_of_these(turn: Turn, fields: tuple[object, ...]) -> None:
    await not_answered(turn, "None of those, then. I don't know the answer, and I won't guess.")
