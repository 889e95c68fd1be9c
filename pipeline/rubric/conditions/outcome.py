"""Tests on the call's outcome (``pipeline.outcomes``), each with the turn it rests on.

    {resolution: [resolved]}
    {resolution: [resolved], na_when: [escalated]}
    {outcome: complaint}
    {outcome: dissatisfied, min_prob: 0.6}

``resolution`` is true when the call's outcome is one of those listed, false otherwise, and not
judged (the item ``na``) when it is one of ``na_when``: a centre that judges a hand-over on the
follow-up lists ``escalated`` there. ``outcome`` compares a call-level probability with a
threshold (default: the model's own); it is what ``applies_if`` asks when an item is for
complaints only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.rubric.conditions.base import condition
from pipeline.rubric.conditions.context import CallContext, Evidence, Result
from pipeline.rubric.conditions.scope import Scope

ResolutionName = Literal["resolved", "not_resolved", "escalated"]


class ResolutionTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: list[ResolutionName] = Field(min_length=1)
    na_when: list[ResolutionName] = Field(default_factory=list)


def _needs_roles(p: ResolutionTest) -> str:
    return "the call's outcome"


@condition("resolution", ResolutionTest, "the call's outcome is one of these", _needs_roles)
def _resolution(p: ResolutionTest, scope: Scope, ctx: CallContext, within: list[int] | None
                ) -> Result:
    outcome = ctx.outcome
    if outcome is None:
        return Result(None, reason="no call outcome on this call (needs the sentence encoder "
                      "and known speaker roles)")
    found = outcome.evidence.get("resolution", {})
    idx = found.get("idx")
    evidence = (ctx.turn_evidence(int(idx), f"{outcome.resolution}: {found.get('why', '')}")
                if idx is not None and idx in ctx.turns.index
                else Evidence(None, None, None, "", outcome.resolution))
    if outcome.resolution in p.na_when:
        return Result(None, (evidence,), reason=f"{outcome.resolution} ({found.get('why', '')}):"
                      " judged on the follow-up")
    return Result(outcome.resolution in p.resolution, (evidence,),
                  f"the call's outcome, for {' / '.join(p.resolution)}")


class CallOutcomeTest(BaseModel):
    """``{outcome: complaint}``: the call is a complaint (the call-level head, not any single
    turn); ``{outcome: dissatisfied, min_prob: 0.6}``: the customer ends dissatisfied."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["complaint", "dissatisfied"]
    min_prob: float | None = Field(default=None, ge=0, le=1)  # None: the model's threshold


def _needs_roles_for(p: CallOutcomeTest) -> str:
    return f"the call's {p.outcome} judgement"


@condition("outcome", CallOutcomeTest, "the call is a complaint / the customer ends "
           "dissatisfied (call level)", _needs_roles_for)
def _call_outcome(p: CallOutcomeTest, scope: Scope, ctx: CallContext,
                  within: list[int] | None) -> Result:
    outcome = ctx.outcome
    probability = None if outcome is None else getattr(outcome, f"{p.outcome}_probability")
    if probability is None:
        return Result(None, reason=f"no call-level {p.outcome} judgement on this call (needs "
                      "the sentence encoder, the outcome model and known speaker roles)")
    threshold = p.min_prob if p.min_prob is not None else outcome.thresholds.get(p.outcome, 0.5)
    found = outcome.evidence.get(p.outcome) or {}
    why = f"{p.outcome} p={probability:.2f} over the call (≥ {threshold:.2f} counts)"
    idx = found.get("idx")
    evidence = (ctx.turn_evidence(int(idx), f"{why}; {found.get('why', '')}".rstrip("; "))
                if idx is not None and idx in ctx.turns.index
                else Evidence(None, None, None, "", why))
    return Result(probability >= threshold, (evidence,), f"the call's {p.outcome} probability")
