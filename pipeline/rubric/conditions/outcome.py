"""The ``resolution`` test: the call's outcome (``pipeline.outcomes``) is one of these.

    {resolution: [resolved], na_when: [escalated]}

True when the call was resolved, false when it was not, and not judged (the item ``na``) when
it was handed on: an escalated problem is resolved or not on the follow-up, not in this call.
The evidence is the turn the outcome rests on.
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
