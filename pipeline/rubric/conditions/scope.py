"""Scope keys: which turns of a call a condition looks at (speaker, time window, positions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.rubric.conditions.context import CallContext, Window


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Literal["agent", "customer", "any"] = "any"
    within_first_s: float | None = Field(None, gt=0)
    within_last_s: float | None = Field(None, gt=0)
    first_turns: int | None = Field(None, gt=0)
    last_turns: int | None = Field(None, gt=0)


SCOPE_KEYS = frozenset(Scope.model_fields)
UNTIMED_WINDOW_TURNS = 2  # chat logs: a time window becomes the first/last two turns


def select_turns(ctx: CallContext, scope: Scope, within: list[int] | None = None) -> Window:
    """The turns in scope (optionally inside ``within``), with a description."""
    turns = ctx.turns if within is None else ctx.turns.loc[within]
    parts = []
    if scope.speaker != "any":
        turns = turns[turns["speaker"] == scope.speaker]
        parts.append(f"{scope.speaker} turns")
    if scope.within_first_s is not None:
        if ctx.timed:
            turns = turns[turns["start"] < scope.within_first_s]
            parts.append(f"in the first {scope.within_first_s:g} s")
        else:
            turns = turns.head(UNTIMED_WINDOW_TURNS)
            parts.append(f"in the first {UNTIMED_WINDOW_TURNS} turns (no timestamps)")
    if scope.within_last_s is not None:
        if ctx.timed:
            cutoff = float(ctx.metrics.duration_s or ctx.turns["end"].max()) - scope.within_last_s
            turns = turns[turns["end"] > cutoff]
            parts.append(f"in the last {scope.within_last_s:g} s")
        else:
            turns = turns.tail(UNTIMED_WINDOW_TURNS)
            parts.append(f"in the last {UNTIMED_WINDOW_TURNS} turns (no timestamps)")
    if scope.first_turns is not None:
        turns = turns.head(scope.first_turns)
        parts.append(f"first {scope.first_turns} turns")
    if scope.last_turns is not None:
        turns = turns.tail(scope.last_turns)
        parts.append(f"last {scope.last_turns} turns")
    indices = [int(i) for i in turns.index]
    label = " ".join(parts) or "all turns"
    if not indices:
        return Window(indices, f"{label}: no turns", None, None)
    if not ctx.timed:
        return Window(indices, f"{label}: turns {indices[0]}–{indices[-1]}", None, None)
    start, end = float(turns["start"].min()), float(turns["end"].max())
    return Window(indices, f"{label}: turns {indices[0]}–{indices[-1]} ({start:.1f}–{end:.1f} s)",
                  round(start, 3), round(end, 3))


def narrowed(scope: Scope, ctx: CallContext, within: list[int] | None) -> list[int] | None:
    """``within`` cut down to ``scope``: for combinators, whose parts select turns again."""
    if scope == Scope():
        return within
    return select_turns(ctx, scope, within).indices
