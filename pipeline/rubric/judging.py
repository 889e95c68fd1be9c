"""Judge a call item by item: ``na`` when an item does not apply or cannot be judged.

What made an item apply (or not) is evidence too, marked ``applies``: a supervisor sees
"complaint p=0.91 over the call" next to what the item found.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.rubric.conditions import CallContext, Evidence, Result
from pipeline.rubric.model import ItemJudgement, Rubric, RubricItem
from pipeline.support import deadline


def evaluate(rubric: Rubric, ctx: CallContext) -> list[ItemJudgement]:
    judgements = []
    for item in rubric.items:
        deadline.check(f"judging rubric item {item.id!r}")
        judgements.append(judge(item, ctx))
    return judgements


def judge(item: RubricItem, ctx: CallContext) -> ItemJudgement:
    applied: tuple[Evidence, ...] = ()
    if item.applies_if is not None:
        applies = item.applies_if.evaluate(ctx)
        if applies.value is None:
            return ItemJudgement(item, "na", 0.0, (), f"cannot tell if it applies: "
                                 f"{applies.reason}")
        applied = tuple(replace(e, applies=True) for e in applies.evidence)
        if not applies.value:
            return ItemJudgement(item, "na", 0.0, applied,
                                 f"does not apply ({applies.searched})")
    condition = item.pass_if or item.fail_if
    assert condition is not None
    result = condition.evaluate(ctx)
    if result.value is None:
        return ItemJudgement(item, "na", 0.0, result.evidence + applied, result.reason)
    passed = result.value if item.pass_if is not None else not result.value
    evidence = result.evidence or (_searched(result),)
    return ItemJudgement(item, "pass" if passed else "fail", item.points if passed else 0.0,
                         evidence + applied, result.searched)


def _searched(result: Result) -> Evidence:
    """Evidence for an outcome decided by absence: the window that was searched."""
    window = result.window
    start, end = (window.start, window.end) if window else (None, None)
    return Evidence(None, start, end, "", f"nothing found; searched {result.searched}")
