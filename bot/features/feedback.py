"""`/feedback`: anything the customer wants to say, at any time, straight to the
people at the company; it does not change their case."""

from __future__ import annotations

from typing import Any

from bot.i18n import N_, _
from bot.model import Purpose
from bot.registry import Feature
from bot.report import ReportData, ReportSection, line
from bot.text import md_escape, shorten
from bot.turn import Turn

feature = Feature("feedback")


def _feedback(data: ReportData) -> dict[str, Any]:
    return {"feedback_count": data.feedback_count}


def _feedback_text(report: dict[str, Any]) -> list[str]:
    count = int(report["feedback_count"])
    return ["Feedback", line("Messages received", count) if count else "  no feedback yet"]


feature.report_section(ReportSection("Feedback", 70, _feedback, _feedback_text))


@feature.command("feedback", help=N_("tell us anything: praise, complaints, what others do better"))
async def feedback(turn: Turn, text: str) -> None:
    text = text.strip()
    if not text:
        await turn.say(
            _(
                "Write it after the command, like /feedback the trial was too short. Praise,"
                " complaints, what another company does better: all of it is read."
            )
        )
        return
    await turn.tx.feedback.add(turn.customer.id, turn.case.id, text, turn.now)
    turn.out += turn.desk.notice(
        f"💬 Feedback from {md_escape(turn.name)} (case #{turn.case.id}):"
        f" “{md_escape(shorten(text, 1500))}”",
        purpose=Purpose.FEEDBACK,
        customer_id=turn.customer.id,
    )
    await turn.say(
        _(
            "Thank you. Your feedback is recorded and goes to the support team at {company},"
            " who read every one; it does not change your case."
        ).format(company=turn.settings.company),
        note="thanked for feedback",
    )
