"""The named parts of a candidate's score, for `candor kb ask` to show why an
article scored what it did.

A matcher result may carry its own parts as `parts` (a sequence of `ScorePart`
whose points add up to its score); a matcher that fuses a semantic score with
the lexical ones lists it there with kind "semantic". This module imports
nothing of the matcher's, so the matcher can import it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PartKind = Literal["lexical", "semantic"]


@dataclass(frozen=True, slots=True)
class ScorePart:
    name: str  # what the part measures: "words", "spelling", "meaning", ...
    kind: PartKind
    signal: float  # 0..1
    weight: float  # its weight in the fused score

    @property
    def points(self) -> float:
        """What this part adds to the score."""
        return self.signal * self.weight


def points_by_kind(parts: tuple[ScorePart, ...]) -> dict[PartKind, float]:
    """The score's lexical and semantic totals (a kind with no part is absent)."""
    totals: dict[PartKind, float] = {}
    for part in parts:
        totals[part.kind] = totals.get(part.kind, 0.0) + part.points
    return totals
