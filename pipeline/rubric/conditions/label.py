"""The ``label`` test: a classifier label above a probability on a turn in scope."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pipeline.rubric.conditions.base import condition
from pipeline.rubric.conditions.context import CallContext, Evidence, Result
from pipeline.rubric.conditions.scope import Scope, select_turns


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(pattern=r"^(agent|customer|call)\.[a-z_]+$")
    min_prob: float = Field(0.5, ge=0, le=1)


def _label_hits(p: Label, ctx: CallContext, indices: list[int]) -> list[Evidence] | None:
    if ctx.labels is None or ctx.labels.empty or p.label not in set(ctx.labels["label"]):
        return None  # no classifier output for this label: the item cannot be judged by it
    chosen = ctx.labels[(ctx.labels["label"] == p.label)
                        & (ctx.labels["probability"] >= p.min_prob)
                        & (ctx.labels["idx"].isin(indices))]
    return [ctx.turn_evidence(int(row.idx), f"{p.label} p={row.probability:.2f}")
            for row in chosen.itertuples(index=False)]


@condition("label", Label, "a classifier label is above a probability on a turn")
def _label(p: Label, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    window = select_turns(ctx, scope, within)
    hits = _label_hits(p, ctx, window.indices)
    if hits is None:
        return Result(None, reason=f"no classifier output for label {p.label} on this call")
    return Result(bool(hits), tuple(hits), f"{window.label}, for {p.label} ≥ {p.min_prob:g}",
                  window=window)
