"""The handover summary measured on recorded conversations
(tests/data/handover_conversations.jsonl): each is replayed through the real engine
(the shipped knowledge, SQLite, a fake clock), handed over, and the facts on the
card the desk got are compared with the facts written down by hand for it.

Used by tests/test_handover_summary.py (which asserts the figures) and
benchmarks/summary_eval.py (which prints them per label).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot import config as config_module
from bot.app import Candor
from bot.model import CaseState
from bot.summary.facts import LABELS
from tests.conftest import (
    ROOT,
    Clock,
    Customer,
    RecordingDesk,
    RecordingSender,
    case_of,
    write_config,
)

DATA = ROOT / "tests" / "data" / "handover_conversations.jsonl"
SHOWN = "This is what I will pass on to a person"
_KEY_OF = {english: key for key, english in LABELS.items()}


@dataclass
class Replayed:
    """One conversation after its handover: the card's text and the facts on it."""

    name: str
    card: str
    found: set[tuple[str, str]]
    wanted: set[tuple[str, str]]
    early: bool  # the summary was shown before the last message


@dataclass
class Score:
    right: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    wanted: Counter[str] = field(default_factory=Counter)

    def add(self, replayed: Replayed) -> None:
        for label, _value in replayed.found & replayed.wanted:
            self.right[label] += 1
        for label, _value in replayed.found:
            self.found[label] += 1
        for label, _value in replayed.wanted:
            self.wanted[label] += 1

    def precision(self, label: str | None = None) -> float:
        right, found = self._of(self.right, label), self._of(self.found, label)
        return right / found if found else 1.0

    def recall(self, label: str | None = None) -> float:
        right, wanted = self._of(self.right, label), self._of(self.wanted, label)
        return right / wanted if wanted else 1.0

    @staticmethod
    def _of(counts: Counter[str], label: str | None) -> int:
        return counts[label] if label else sum(counts.values())


def conversations(path: Path = DATA) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def facts_on(card: str) -> set[tuple[str, str]]:
    """The facts of the card's "• Facts:" line, as (label, value)."""
    found: set[tuple[str, str]] = set()
    for line in card.split("\n"):
        if not line.startswith("• Facts: "):
            continue
        for part in line[len("• Facts: ") :].split(" · "):
            label, _sep, values = part.partition(": ")
            for value in values.split("; "):
                found.add((_KEY_OF.get(label, label), re.sub(r"\\(.)", r"\1", value)))
    return found


async def replay(folder: Path, rows: list[dict[str, object]]) -> list[Replayed]:
    """Every conversation, each by its own customer, in one Candor."""
    config = config_module.load(write_config(folder, ROOT / "knowledge"))
    done = []
    async with Candor(config, clock=Clock()) as app:
        sender, desk = RecordingSender(), RecordingDesk()
        app.outbox.register(sender)
        app.outbox.register(desk)
        for number, row in enumerate(rows):
            who = Customer(app, sender, f"c{number}")
            messages = [str(m) for m in row["messages"]]  # type: ignore[attr-defined]
            early = False
            for index, text in enumerate(messages):
                replies = await who.send(text)
                shown = any(SHOWN in r for r in replies)
                early = early or (shown and index < len(messages) - 1)
            case = await case_of(app, who)
            if case.state is CaseState.BOT and not case.pending_reason:
                replies = await who.send("/human")
                assert any(SHOWN in r for r in replies), (row["id"], replies)
            if case.state is CaseState.BOT:
                await who.press("handover:send")
            case = await case_of(app, who)
            assert case.state is CaseState.WAITING, row["id"]
            [card] = [
                m.text for m in desk.sent if m.delivery.purpose == "card" and m.case_id == case.id
            ]
            wanted = {
                (label, value)
                for label, values in row["facts"].items()  # type: ignore[attr-defined]
                for value in values
            }
            done.append(Replayed(str(row["id"]), card, facts_on(card), wanted, early))
    return done
