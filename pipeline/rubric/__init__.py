"""QA rubrics: load and validate the YAML, then judge a call item by item.

Every error names the item and the field (``item 'greeting': pass_if.any_phrase must be a
non-empty list``). Every rubric carries a hash of its content, stored with every result, so
an edited rubric is a new version even if nobody bumped ``version``.

``model`` (what a rubric is), ``loading`` (file → ``Rubric``, with ``yaml_loader``),
``judging`` (``Rubric`` × call → judgements) and ``conditions`` (the condition types); the
public names are all here.
"""

from __future__ import annotations

from pipeline.rubric.conditions import (
    CallContext,
    Condition,
    ConditionError,
    Evidence,
    Result,
    parse,
)
from pipeline.rubric.judging import evaluate, judge
from pipeline.rubric.loading import RUBRIC_DIR, content_hash, from_dict, load, resolve_path
from pipeline.rubric.model import ItemJudgement, Outcome, Rubric, RubricError, RubricItem
from pipeline.rubric.yaml_loader import MAX_ALIASED_VALUES

__all__ = [
    "MAX_ALIASED_VALUES", "RUBRIC_DIR", "CallContext", "Condition", "ConditionError",
    "Evidence", "ItemJudgement", "Outcome", "Result", "Rubric", "RubricError", "RubricItem",
    "content_hash", "evaluate", "from_dict", "judge", "load", "parse", "resolve_path",
]
