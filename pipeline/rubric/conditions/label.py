"""The ``label`` test: a classifier label above a probability on a turn in scope."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pipeline.conversation import MACHINE_SPEAKERS, ROLES
from pipeline.rubric.conditions.base import condition
from pipeline.rubric.conditions.context import CallContext, Evidence, Result
from pipeline.rubric.conditions.scope import Scope, select_turns
from pipeline.text import substantive


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(pattern=r"^(agent|customer|call)\.[a-z_]+$")
    min_prob: float = Field(0.5, ge=0, le=1)
    # Only turns that say more than questions, greetings, thanks and apologies count
    # (``text.substantive``): offer_solution learnt from STC-3's helpful helpdesk turns,
    # clarifying questions and apologies included, which offer nothing.
    substantive: bool = False


def _role(p: Label) -> str | None:
    """An ``agent.``/``customer.`` label is about that role's turns (``call.`` ones are not)."""
    return f"label {p.label}" if p.label.split(".", 1)[0] in ROLES else None


def _label_hits(p: Label, ctx: CallContext, indices: list[int]) -> list[Evidence] | None:
    if ctx.labels is None or ctx.labels.empty or p.label not in set(ctx.labels["label"]):
        return None  # no classifier output for this label: the item cannot be judged by it
    if _role(p) is not None:
        # A bot's or the system's line is not the agent (nor the customer), whatever labels
        # the classifier gave it: the human agent's greeting is the agent's to earn.
        speakers = ctx.turns.loc[indices, "speaker"]
        indices = [int(i) for i in speakers.index[~speakers.isin(MACHINE_SPEAKERS)]]
    if p.substantive:
        indices = [i for i in indices if substantive(str(ctx.turns.at[i, "raw_text"]))]
    chosen = ctx.labels[(ctx.labels["label"] == p.label)
                        & (ctx.labels["probability"] >= p.min_prob)
                        & (ctx.labels["idx"].isin(indices))]
    return [ctx.turn_evidence(int(row.idx), f"{p.label} p={row.probability:.2f}")
            for row in chosen.itertuples(index=False)]


@condition("label", Label, "a classifier label is above a probability on a turn", _role)
def _label(p: Label, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    window = select_turns(ctx, scope, within)
    hits = _label_hits(p, ctx, window.indices)
    if hits is None:
        return Result(None, reason=f"no classifier output for label {p.label} on this call")
    only = (", turns that only ask, greet, thank or apologise not counted" if p.substantive
            else "")
    return Result(bool(hits), tuple(hits),
                  f"{window.label}, for {p.label} ≥ {p.min_prob:g}{only}", window=window)
