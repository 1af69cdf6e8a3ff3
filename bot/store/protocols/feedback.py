"""`tx.feedback`: what customers think, in their words."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.store.protocols.personal import PersonalData


class FeedbackLog(PersonalData, Protocol):
    """`/feedback`: kept apart from the case it was written in (the case is not
    touched), and counted by reports.

    Personal data: `export` gives `feedback` (when, and the words); `forget`
    erases it; `merge` moves it."""

    async def add(self, customer_id: int, case_id: int | None, text: str, now: datetime) -> int:
        """Keep a customer's feedback, given at `now` during `case_id` (if any);
        returns its id."""
