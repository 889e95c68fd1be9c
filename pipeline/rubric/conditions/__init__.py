"""Rubric condition types, registered in one place.

A condition is a YAML mapping with *scope* keys (which turns to look at) and exactly one *test*
key (what to look for)::

    {speaker: agent, within_first_s: 15, any_phrase: [您好, 很高兴为您服务], fuzzy: pinyin}

Each test is a function registered with ``@condition(key, Params)`` (``base``): ``Params``
(pydantic) validates the YAML and the function judges a call. A new condition type is a new
function in a kind module: ``phrase``, ``regex``, ``metric``, ``label``, ``similar``,
``outcome``, ``structure``
(``count``, ``sequence``, ``all``/``any``/``not``).

Results are three-valued: True, False, or None when the call cannot be judged (a metric that
needs timestamps on a chat log, a label before any classifier ran, anything about the agent or
the customer on a call whose speaker roles are unknown: ``Condition.evaluate`` checks that for
every test); ``None`` carries a reason.
``all``/``any`` judge on what can be judged and are None only when nothing could be.
"""

from __future__ import annotations

# The kind modules register their tests on import, in this order (CONDITIONS' order).
# isort: off
from pipeline.rubric.conditions import (  # noqa: F401
    phrase, regex, metric, label, similar, outcome, structure,
)
# isort: on
from pipeline.rubric.conditions.base import (
    CONDITIONS,
    Condition,
    ConditionError,
    ConditionType,
    condition,
    parse,
)
from pipeline.rubric.conditions.context import (
    CallContext,
    Evidence,
    Result,
    Similarity,
    Window,
    evidence_time,
)
from pipeline.rubric.conditions.regex import RegexError, compile_regex
from pipeline.rubric.conditions.scope import SCOPE_KEYS, Scope, select_turns

__all__ = [
    "CONDITIONS",
    "SCOPE_KEYS",
    "CallContext",
    "Condition",
    "ConditionError",
    "ConditionType",
    "Evidence",
    "RegexError",
    "Result",
    "Scope",
    "Similarity",
    "Window",
    "compile_regex",
    "condition",
    "evidence_time",
    "parse",
    "select_turns",
]
