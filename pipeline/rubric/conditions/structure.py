"""Tests built of other conditions: ``count``, ``sequence`` and the combinators ``all``,
``any`` and ``not``. Inner conditions are parsed with their path, so errors name it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.rubric.conditions.base import Condition, condition, parse_nested
from pipeline.rubric.conditions.comparison import Comparison
from pipeline.rubric.conditions.context import CallContext, Evidence, Result
from pipeline.rubric.conditions.scope import Scope, narrowed, select_turns

# -- count --------------------------------------------------------------------------------------


class Count(Comparison):
    count: Any

    @field_validator("count")
    @classmethod
    def _inner(cls, value: Any, info: Any) -> Condition:
        return parse_nested(value, info, "count")


@condition("count", Count, "how many turns satisfy a condition, compared to a bound")
def _count(p: Count, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    window = select_turns(ctx, scope, within)
    inner: Condition = p.count
    evidence: list[Evidence] = []
    hits = 0
    for idx in window.indices:
        result = inner.evaluate(ctx, [idx])
        if result.value is None:
            return Result(None, reason=result.reason)
        if result.value:
            hits += 1
            evidence.extend(result.evidence)
    holds = p.holds(hits)
    return Result(holds, tuple(evidence), f"{window.label}: {hits} turn(s) "
                  f"({'' if holds else 'not '}{p.text()})", window=window)


# -- sequence -----------------------------------------------------------------------------------


class Sequence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sequence: list[Any] = Field(min_length=2)

    @field_validator("sequence")
    @classmethod
    def _steps(cls, steps: list[Any], info: Any) -> list[Condition]:
        parsed = []
        for number, step in enumerate(steps):
            if isinstance(step, str):  # shorthand: a label name
                step = {"label": step}
            parsed.append(parse_nested(step, info, f"sequence[{number}]"))
        return parsed


@condition("sequence", Sequence, "steps happen in order (a step may share the previous "
           "step's turn: agents often offer and confirm in one breath)")
def _sequence(p: Sequence, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    window = select_turns(ctx, scope, within)
    indices = window.indices
    evidence: list[Evidence] = []
    position = 0
    for number, step in enumerate(p.sequence, start=1):
        results = [(k, step.evaluate(ctx, [indices[k]])) for k in range(position, len(indices))]
        hit = next(((k, r) for k, r in results if r.value), None)
        if hit is None:
            if results and all(r.value is None for _, r in results):
                # The step cannot be judged on any turn (e.g. no labels): neither can the call.
                return Result(None, tuple(evidence), reason=results[0][1].reason)
            after = f" after step {number - 1}" if number > 1 else ""
            return Result(False, tuple(evidence),
                          f"{window.label}: step {number} of {len(p.sequence)} not found{after}",
                          window=window)
        position, result = hit[0], hit[1]
        evidence.extend(Evidence(e.idx, e.start, e.end, e.text, f"step {number}: {e.why}")
                        for e in result.evidence[:1])
    return Result(True, tuple(evidence), window.label, window=window)


# -- combinators --------------------------------------------------------------------------------


def _parts(parts: list[Any], info: Any) -> list[Condition]:
    """Parse each part of an ``all`` / ``any`` list, with its position in error paths."""
    return [parse_nested(part, info, f"{info.field_name}[{i}]") for i, part in enumerate(parts)]


class All(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all: list[Any] = Field(min_length=1)
    _parse = field_validator("all")(_parts)


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[Any] = Field(min_length=1)
    _parse = field_validator("any")(_parts)


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid")

    not_: Any = Field(alias="not")

    @field_validator("not_")
    @classmethod
    def _inner(cls, value: Any, info: Any) -> Condition:
        return parse_nested(value, info, "not")


def _reasons(results: list[Result]) -> str:
    """Why none of the parts could be judged, each reason once (three agent-scoped parts of a
    mono call say "speaker roles unknown" once, not three times)."""
    return "; ".join(dict.fromkeys(r.reason for r in results))


@condition("all", All, "every part holds (parts that cannot be judged are skipped)")
def _all(p: All, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    results = [part.evaluate(ctx, narrowed(scope, ctx, within)) for part in p.all]
    judged = [r for r in results if r.value is not None]
    evidence = tuple(e for r in judged for e in r.evidence)
    if not judged:
        return Result(None, reason=_reasons(results))
    failed = [r for r in judged if not r.value]
    if failed:
        return Result(False, tuple(e for r in failed for e in r.evidence),
                      "; ".join(r.searched for r in failed))
    return Result(True, evidence, "; ".join(r.searched for r in judged))


@condition("any", AnyOf, "at least one part holds (parts that cannot be judged are skipped)")
def _any(p: AnyOf, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    results = [part.evaluate(ctx, narrowed(scope, ctx, within)) for part in p.any]
    judged = [r for r in results if r.value is not None]
    if not judged:
        return Result(None, reason=_reasons(results))
    passed = [r for r in judged if r.value]
    if passed:
        return Result(True, tuple(e for r in passed for e in r.evidence),
                      "; ".join(r.searched for r in passed))
    return Result(False, tuple(e for r in judged for e in r.evidence),
                  "; ".join(r.searched for r in judged))


@condition("not", Not, "the inner condition does not hold")
def _not(p: Not, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    inner: Condition = p.not_
    result = inner.evaluate(ctx, narrowed(scope, ctx, within))
    if result.value is None:
        return result
    return Result(not result.value, result.evidence, f"not ({result.searched})")
