"""What a condition sees (``CallContext``) and what it returns (``Result`` with ``Evidence``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from pipeline.conversation import ConversationMetrics, Roles
from pipeline.phrases import Utterance


@dataclass(frozen=True)
class Evidence:
    idx: int | None
    start: float | None
    end: float | None
    text: str
    why: str
    applies: bool = False  # why the item applied (or did not), not what it found

    def as_dict(self) -> dict[str, Any]:
        out = {"idx": self.idx, "start": self.start, "end": self.end, "text": self.text,
               "why": self.why}
        return {**out, "applies": True} if self.applies else out


@dataclass(frozen=True)
class Window:
    """The turns a condition looked at, described for a supervisor."""

    indices: list[int]
    label: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class Result:
    value: bool | None
    evidence: tuple[Evidence, ...] = ()
    searched: str = ""  # what was looked at, shown when nothing was found
    reason: str = ""  # why the call could not be judged (value None)
    window: Window | None = None


class Similarity(Protocol):
    """Sentence vectors whose dot product is a similarity (``pipeline.models.sentence``)."""

    version: str

    def vectors(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass
class CallContext:
    """Everything conditions may read about one call; built once, shared by all items."""

    call_id: str
    language: str
    turns: pd.DataFrame  # TurnSchema rows
    metrics: ConversationMetrics
    labels: pd.DataFrame | None = None  # columns idx, label, probability
    similarity: Similarity | None = None  # for similar_to; None: those tests are not judged
    outcome: Any = None  # pipeline.outcomes.CallOutcome, for ``resolution``; None: not judged
    _utterances: dict[int, Utterance] = field(default_factory=dict)

    @property
    def timed(self) -> bool:
        return self.metrics.timed

    @property
    def roles(self) -> Roles:
        """Whether the turns' agent and customer are known (decided once, by ``measure``)."""
        return self.metrics.roles

    def utterance(self, idx: int) -> Utterance:
        if idx not in self._utterances:
            self._utterances[idx] = Utterance(str(self.turns.at[idx, "raw_text"]))
        return self._utterances[idx]

    def turn_evidence(self, idx: int, why: str, text: str | None = None) -> Evidence:
        row = self.turns.loc[idx]
        return Evidence(int(idx), evidence_time(row["start"]), evidence_time(row["end"]),
                        str(row["raw_text"]) if text is None else text, why)


def evidence_time(value: Any) -> float | None:
    """A turn's start or end as evidence shows it: seconds to the millisecond, or None."""
    return None if value is None or pd.isna(value) else round(float(value), 3)
