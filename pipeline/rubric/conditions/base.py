"""The condition registry and the parser that turns a YAML mapping into a ``Condition``.

Each test key is registered once with ``@condition(key, Params, summary)``; ``parse`` finds the
one test key in a mapping, validates the scope and the test's parameters, and names the path
of anything wrong (``pass_if.any[0].regex ...``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from pipeline.conversation import ROLES_UNKNOWN
from pipeline.rubric.conditions.context import CallContext, Result
from pipeline.rubric.conditions.scope import SCOPE_KEYS, Scope

Evaluator = Callable[[Any, Scope, CallContext, "list[int] | None"], Result]
RoleNeed = Callable[[Any], "str | None"]  # params → what about a role the test reads, if any


def _no_role(params: Any) -> str | None:
    return None


@dataclass(frozen=True)
class ConditionType:
    key: str
    params: type[BaseModel]
    evaluate: Evaluator
    summary: str
    needs_role: RoleNeed = _no_role


CONDITIONS: dict[str, ConditionType] = {}


def condition(key: str, params: type[BaseModel], summary: str, needs_role: RoleNeed = _no_role
              ) -> Callable[[Evaluator], Evaluator]:
    """Register a test. ``needs_role`` says what in the test is about the agent or the
    customer (a per-role metric, a role's label); the speaker scope is checked for every test."""
    def register(function: Evaluator) -> Evaluator:
        if key in CONDITIONS or key in SCOPE_KEYS:
            raise ValueError(f"condition key {key!r} is already taken")
        CONDITIONS[key] = ConditionType(key, params, function, summary, needs_role)
        return function

    return register


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its scope, its test and the test's validated parameters."""

    key: str
    scope: Scope
    params: BaseModel

    def evaluate(self, ctx: CallContext, within: list[int] | None = None) -> Result:
        kind = CONDITIONS[self.key]
        if ctx.roles != "known":
            # The one place a role is asked for: a test about the agent or the customer on a
            # call whose roles are not known cannot be judged (na), never failed for "no agent
            # turns" nor passed for "no agent overtalk". Combinators ask again for each part.
            needed = (f"{self.scope.speaker} turns" if self.scope.speaker != "any"
                      else kind.needs_role(self.params))
            if needed is not None:
                unsure = ROLES_UNKNOWN if ctx.roles == "unknown" else "speaker roles uncertain"
                return Result(None, reason=f"{unsure} (needs {needed})")
        return kind.evaluate(self.params, self.scope, ctx, within)


class ConditionError(ValueError):
    """A condition mapping is invalid; ``path`` says where (e.g. ``pass_if.any_phrase``)."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__(f"{path} {message}" if path else message)


def parse(spec: Any, path: str) -> Condition:
    """Validate one condition mapping (recursively) into a Condition."""
    if not isinstance(spec, dict):
        raise ConditionError(path, "must be a mapping")
    tests = [key for key in spec if key in CONDITIONS]
    if len(tests) != 1:
        known = _param_keys()
        unknown = [k for k in spec if k not in CONDITIONS and k not in known]
        hint = f"; unknown key(s): {', '.join(map(str, unknown))}" if unknown else ""
        found = f"found {', '.join(tests)}" if tests else "found none"
        raise ConditionError(
            path, f"must have exactly one test ({', '.join(sorted(CONDITIONS))}); {found}{hint}"
        )
    key = tests[0]
    kind = CONDITIONS[key]
    scope_values = {k: v for k, v in spec.items() if k in SCOPE_KEYS}
    param_values = {k: v for k, v in spec.items() if k not in SCOPE_KEYS}
    scope = _validated(Scope, scope_values, path)
    params = _validated(kind.params, param_values, path, context={"path": path})
    return Condition(key, scope, params)


def parse_nested(value: Any, info: Any, suffix: str) -> Condition:
    """Parse a condition inside another's parameters (a pydantic validator's ``info`` carries
    the outer path), so errors name the full path."""
    base = (info.context or {}).get("path", "")
    return parse(value, f"{base}.{suffix}" if base else suffix)


def _validated(model: type[BaseModel], values: dict[str, Any], path: str,
               context: dict[str, Any] | None = None) -> Any:
    try:
        return model.model_validate(values, context=context)
    except ValidationError as exc:
        error = exc.errors()[0]
        location = ".".join(str(p) for p in error["loc"])
        message = error["msg"]
        if isinstance(error.get("ctx"), dict) and isinstance(error["ctx"].get("error"),
                                                              ConditionError):
            nested: ConditionError = error["ctx"]["error"]
            raise ConditionError(nested.path, str(nested)[len(nested.path) + 1:]) from None
        if error["type"] == "extra_forbidden":
            message = "is not a known key here"
        elif error["type"] == "too_short":
            message = "must be a non-empty list"
        elif error["type"] == "missing":
            message = "is required"
        else:
            message = message.removeprefix("Value error, ").replace("Input should be", "must be")
        full = f"{path}.{location}" if location else path
        raise ConditionError(full, message) from None


def _param_keys() -> frozenset[str]:
    """Every parameter key of every registered test: a key outside these and the test keys is
    named as unknown. Read at parse time, once every kind module has registered."""
    keys = set()
    for kind in CONDITIONS.values():
        for name, info in kind.params.model_fields.items():
            keys.add(info.alias or name)
    return frozenset(keys)
