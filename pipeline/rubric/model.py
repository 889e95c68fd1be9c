"""What a loaded rubric is: items with their conditions, and an item's judgement on a call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.errors import CallqaError
from pipeline.rubric.conditions import Condition, Evidence

Outcome = Literal["pass", "fail", "na"]


class RubricError(CallqaError):
    """A rubric file is invalid; the message says where."""


@dataclass(frozen=True)
class RubricItem:
    id: str
    section: str
    description: str
    points: float
    fatal: bool
    applies_if: Condition | None
    pass_if: Condition | None
    fail_if: Condition | None
    # The utterance label this item's evidence is an example of: a reviewer confirming or
    # overriding the item labels those utterances for retraining (review/decisions.py).
    teaches: str | None = None


@dataclass(frozen=True)
class Rubric:
    id: str
    version: int
    language: str
    name: str
    items: tuple[RubricItem, ...]
    content_hash: str
    source: str

    @property
    def max_points(self) -> float:
        return sum(item.points for item in self.items)


@dataclass(frozen=True)
class ItemJudgement:
    item: RubricItem
    outcome: Outcome
    points: float
    evidence: tuple[Evidence, ...]
    note: str  # what was searched, or why the item does not apply

    @property
    def fatal(self) -> bool:
        return self.item.fatal and self.outcome == "fail"
