"""The ``metric`` test: a conversation metric compared to bounds.

Which metrics exist, how each is read and where its evidence lies is ``pipeline.conversation``'s
registry (``METRICS``); this module only compares and reports.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from pipeline.conversation import METRICS, MetricSource, unmeasured_reason
from pipeline.rubric.conditions.base import condition
from pipeline.rubric.conditions.comparison import Comparison
from pipeline.rubric.conditions.context import CallContext, Evidence, Result
from pipeline.rubric.conditions.scope import Scope


class Metric(Comparison):
    metric: str = Field(min_length=1)

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r}; one of {', '.join(sorted(METRICS))}")
        return value


def _evidence(source: MetricSource, ctx: CallContext) -> Evidence:
    if source.turn_idx is not None:
        return ctx.turn_evidence(source.turn_idx, source.why)
    return Evidence(None, source.start, source.end, "", source.why)


def _role_metric(p: Metric) -> str | None:
    return f"metric {p.metric}" if METRICS[p.metric].needs_roles else None


@condition("metric", Metric, "a conversation metric compares to a bound", _role_metric)
def _metric(p: Metric, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    spec = METRICS[p.metric]
    value = spec.read(ctx.metrics)
    if value is None:
        why = unmeasured_reason(ctx.metrics, spec)
        return Result(None, reason=f"metric {p.metric} is unavailable ({why})")
    holds = p.holds(float(value))
    evidence = tuple(_evidence(source, ctx) for source in spec.locate(ctx.metrics, ctx.turns))
    summary = f"{p.metric} = {value:g} ({'' if holds else 'not '}{p.text()})"
    return Result(holds, evidence or (Evidence(None, None, None, "", summary),), summary)
