"""The named parts of a candidate's score, for `candor kb ask` to show why an
article scored what it did.

A matcher result may carry its own parts as `parts` (a sequence of `ScorePart`);
a matcher that fuses a semantic score with the lexical ones lists it there with
kind "semantic". A result without `parts` is today's lexical matcher's, whose
three signals and weights are read from its fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.knowledge.matcher import W_CLOSENESS, W_COVERAGE, W_SHAPE, Scored

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


def parts_of(scored: Scored) -> tuple[ScorePart, ...]:
    given = getattr(scored, "parts", None)
    if given is not None:
        return tuple(given)
    return (
        ScorePart("words", "lexical", scored.coverage, W_COVERAGE),
        ScorePart("spelling", "lexical", scored.shape, W_SHAPE),
        ScorePart("closest question", "lexical", scored.closeness, W_CLOSENESS),
    )


def points_by_kind(parts: tuple[ScorePart, ...]) -> dict[PartKind, float]:
    """The score's lexical and semantic totals (a kind with no part is absent)."""
    totals: dict[PartKind, float] = {}
    for part in parts:
        totals[part.kind] = totals.get(part.kind, 0.0) + part.points
    return totals
