"""Rubric condition types, registered in one place.

A condition is a YAML mapping with *scope* keys (which turns to look at) and exactly one *test*
key (what to look for)::

    {speaker: agent, within_first_s: 15, any_phrase: [您好, 很高兴为您服务], fuzzy: pinyin}

Each test is a function registered with ``@condition(key, Params)``: ``Params`` (pydantic)
validates the YAML and the function judges a call. A new condition type is a new function.

Results are three-valued: True, False, or None when the call cannot be judged (a metric that
needs timestamps on a chat log, a label before any classifier ran); ``None`` carries a reason.
``all``/``any`` judge on what can be judged and are None only when nothing could be.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any, Literal

import pandas as pd
import re2
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from pipeline.conversation import ConversationMetrics
from pipeline.phrases import MatchMode, Utterance, find

# -- what a condition sees and returns --------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    idx: int | None
    start: float | None
    end: float | None
    text: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"idx": self.idx, "start": self.start, "end": self.end, "text": self.text,
                "why": self.why}


@dataclass(frozen=True)
class Window:
    """The turns a condition looked at, described for a supervisor."""

    indices: list[int]
    label: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class Result:
    value: bool | None
    evidence: tuple[Evidence, ...] = ()
    searched: str = ""  # what was looked at, shown when nothing was found
    reason: str = ""  # why the call could not be judged (value None)
    window: Window | None = None


@dataclass
class CallContext:
    """Everything conditions may read about one call; built once, shared by all items."""

    call_id: str
    language: str
    turns: pd.DataFrame  # TurnSchema rows
    metrics: ConversationMetrics
    labels: pd.DataFrame | None = None  # columns idx, label, probability
    _utterances: dict[int, Utterance] = field(default_factory=dict)

    @property
    def timed(self) -> bool:
        return self.metrics.timed

    def utterance(self, idx: int) -> Utterance:
        if idx not in self._utterances:
            self._utterances[idx] = Utterance(str(self.turns.at[idx, "raw_text"]))
        return self._utterances[idx]

    def turn_evidence(self, idx: int, why: str, text: str | None = None) -> Evidence:
        row = self.turns.loc[idx]
        return Evidence(int(idx), _float(row["start"]), _float(row["end"]),
                        str(row["raw_text"]) if text is None else text, why)


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 3)


# -- scope --------------------------------------------------------------------------------


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    speaker: Literal["agent", "customer", "any"] = "any"
    within_first_s: float | None = Field(None, gt=0)
    within_last_s: float | None = Field(None, gt=0)
    first_turns: int | None = Field(None, gt=0)
    last_turns: int | None = Field(None, gt=0)


SCOPE_KEYS = frozenset(Scope.model_fields)
UNTIMED_WINDOW_TURNS = 2  # chat logs: a time window becomes the first/last two turns


def select_turns(ctx: CallContext, scope: Scope, within: list[int] | None = None) -> Window:
    """The turns in scope (optionally inside ``within``), with a description."""
    turns = ctx.turns if within is None else ctx.turns.loc[within]
    parts = []
    if scope.speaker != "any":
        turns = turns[turns["speaker"] == scope.speaker]
        parts.append(f"{scope.speaker} turns")
    if scope.within_first_s is not None:
        if ctx.timed:
            turns = turns[turns["start"] < scope.within_first_s]
            parts.append(f"in the first {scope.within_first_s:g} s")
        else:
            turns = turns.head(UNTIMED_WINDOW_TURNS)
            parts.append(f"in the first {UNTIMED_WINDOW_TURNS} turns (no timestamps)")
    if scope.within_last_s is not None:
        if ctx.timed:
            cutoff = float(ctx.metrics.duration_s or ctx.turns["end"].max()) - scope.within_last_s
            turns = turns[turns["end"] > cutoff]
            parts.append(f"in the last {scope.within_last_s:g} s")
        else:
            turns = turns.tail(UNTIMED_WINDOW_TURNS)
            parts.append(f"in the last {UNTIMED_WINDOW_TURNS} turns (no timestamps)")
    if scope.first_turns is not None:
        turns = turns.head(scope.first_turns)
        parts.append(f"first {scope.first_turns} turns")
    if scope.last_turns is not None:
        turns = turns.tail(scope.last_turns)
        parts.append(f"last {scope.last_turns} turns")
    indices = [int(i) for i in turns.index]
    label = " ".join(parts) or "all turns"
    if not indices:
        return Window(indices, f"{label}: no turns", None, None)
    if not ctx.timed:
        return Window(indices, f"{label}: turns {indices[0]}–{indices[-1]}", None, None)
    start, end = float(turns["start"].min()), float(turns["end"].max())
    return Window(indices, f"{label}: turns {indices[0]}–{indices[-1]} ({start:.1f}–{end:.1f} s)",
                  round(start, 3), round(end, 3))


# -- registry -------------------------------------------------------------------------------

Evaluator = Callable[[Any, Scope, CallContext, "list[int] | None"], Result]


@dataclass(frozen=True)
class ConditionType:
    key: str
    params: type[BaseModel]
    evaluate: Evaluator
    summary: str


CONDITIONS: dict[str, ConditionType] = {}


def condition(key: str, params: type[BaseModel], summary: str
              ) -> Callable[[Evaluator], Evaluator]:
    def register(function: Evaluator) -> Evaluator:
        if key in CONDITIONS or key in SCOPE_KEYS:
            raise ValueError(f"condition key {key!r} is already taken")
        CONDITIONS[key] = ConditionType(key, params, function, summary)
        return function

    return register


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its scope, its test and the test's validated parameters."""

    key: str
    scope: Scope
    params: BaseModel

    def evaluate(self, ctx: CallContext, within: list[int] | None = None) -> Result:
        return CONDITIONS[self.key].evaluate(self.params, self.scope, ctx, within)


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
        unknown = [k for k in spec if k not in CONDITIONS and k not in _ALL_PARAM_KEYS]
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


def _validated(model: type[BaseModel], values: dict[str, Any], path: str,
               context: dict[str, Any] | None = None) -> Any:
    from pydantic import ValidationError

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


def _nested(value: Any, info: Any, suffix: str) -> Condition:
    base = (info.context or {}).get("path", "")
    return parse(value, f"{base}.{suffix}" if base else suffix)


# -- phrase tests -----------------------------------------------------------------------------

def _number_as_text(value: Any) -> Any:
    """YAML reads 12315 as a number; as a phrase it is text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Phrases = Annotated[
    list[Annotated[str, BeforeValidator(_number_as_text), Field(min_length=1)]],
    Field(min_length=1),
]


class _PhraseParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fuzzy: MatchMode = "exact"
    max_edits: int | None = Field(None, ge=0)


class AnyPhrase(_PhraseParams):
    any_phrase: Phrases


class AllPhrases(_PhraseParams):
    all_phrases: Phrases


class NoPhrase(_PhraseParams):
    no_phrase: Phrases


def _find_all(ctx: CallContext, indices: list[int], phrases: list[str], params: _PhraseParams
              ) -> dict[str, list[Evidence]]:
    found: dict[str, list[Evidence]] = {}
    for idx in indices:
        utterance = ctx.utterance(idx)
        for phrase in phrases:
            match = find(utterance, phrase, params.fuzzy, params.max_edits)
            if match is not None:
                how = "" if match.mode == "exact" else f" ({match.mode}, {match.distance} off)"
                found.setdefault(phrase, []).append(ctx.turn_evidence(
                    idx, f"said “{match.text}” for “{phrase}”{how}"))
    return found


def _list(phrases: list[str]) -> str:
    return "[" + ", ".join(phrases[:6]) + (", …" if len(phrases) > 6 else "") + "]"


@condition("any_phrase", AnyPhrase, "one of the phrases is said")
def _any_phrase(p: AnyPhrase, scope: Scope, ctx: CallContext, within: list[int] | None
                ) -> Result:
    window = select_turns(ctx, scope, within)
    found = _find_all(ctx, window.indices, p.any_phrase, p)
    evidence = tuple(e for hits in found.values() for e in hits)
    return Result(bool(found), evidence, f"{window.label}, for any of {_list(p.any_phrase)}",
                  window=window)


@condition("all_phrases", AllPhrases, "every phrase is said")
def _all_phrases(p: AllPhrases, scope: Scope, ctx: CallContext, within: list[int] | None
                 ) -> Result:
    window = select_turns(ctx, scope, within)
    found = _find_all(ctx, window.indices, p.all_phrases, p)
    missing = [phrase for phrase in p.all_phrases if phrase not in found]
    evidence = tuple(e for hits in found.values() for e in hits)
    searched = f"{window.label}, missing {_list(missing)}" if missing else window.label
    return Result(not missing, evidence, searched, window=window)


@condition("no_phrase", NoPhrase, "none of the phrases is said")
def _no_phrase(p: NoPhrase, scope: Scope, ctx: CallContext, within: list[int] | None
               ) -> Result:
    window = select_turns(ctx, scope, within)
    found = _find_all(ctx, window.indices, p.no_phrase, p)
    evidence = tuple(e for hits in found.values() for e in hits)
    return Result(not found, evidence, f"{window.label}, for none of {_list(p.no_phrase)}",
                  window=window)


# -- regex --------------------------------------------------------------------------------------


class Regex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regex: str = Field(min_length=1)
    on: Literal["raw", "normalized"] = "raw"
    ignore_case: bool = True

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compile_regex(value)  # RegexError (a ValueError) names what is wrong
        return value


class RegexError(ValueError):
    """A rubric pattern is not valid, or not in the linear-time syntax (RE2) accepted."""


@lru_cache(maxsize=512)
def compile_regex(pattern: str, ignore_case: bool = True) -> Any:
    """A rubric pattern compiled by RE2, whose matching time is linear in the text: a pattern
    from a rubric file can never make a long turn take hours (``(a+)+$``). Backreferences and
    lookaround have no linear-time algorithm and are refused."""
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    options.case_sensitive = not ignore_case
    try:
        return re2.compile(_python_classes(pattern), options)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(
            exc.args[0], bytes) else str(exc)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise RegexError(f"is not a valid regular expression ({exc})") from None
    raise RegexError(f"is not accepted ({detail}): only linear-time syntax (RE2) is accepted, "
                     "so no backreferences (\\1), lookahead or lookbehind ((?=, (?!, (?<=)")


# RE2's \d, \s and \w are ASCII-only; rubrics are written for Python's, which are Unicode
# (\s matches the ideographic space U+3000, \w matches 汉字). Rewritten to the same sets.
_SPACE = r"\s\x{0B}\x{1C}-\x{1F}\x{85}\p{Z}"
_WORD = r"\p{L}\p{N}_"
_IN_CLASS = {"d": r"\p{Nd}", "D": r"\P{Nd}", "s": _SPACE, "w": _WORD}
_OUTSIDE = {**_IN_CLASS, "s": f"[{_SPACE}]", "w": f"[{_WORD}]", "S": f"[^{_SPACE}]",
            "W": f"[^{_WORD}]", "Z": r"\z"}


def _python_classes(pattern: str) -> str:
    r"""``pattern`` with Python's Unicode ``\d \s \w`` (and ``\Z``) spelt for RE2."""
    out: list[str] = []
    in_class, i = False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            letter = pattern[i + 1]
            if letter == "Q":  # RE2 literal text up to \E: copied as it is
                end = pattern.find("\\E", i + 2)
                end = len(pattern) if end < 0 else end + 2
                out.append(pattern[i:end])
                i = end
                continue
            out.append((_IN_CLASS if in_class else _OUTSIDE).get(letter, pattern[i:i + 2]))
            i += 2
            continue
        if in_class and pattern.startswith("[:", i) and ":]" in pattern[i + 2:]:
            end = pattern.index(":]", i + 2) + 2  # [[:alpha:]]
            out.append(pattern[i:end])
            i = end
            continue
        if char == "[" and not in_class:
            in_class = True
            end = i + 1 + pattern.startswith("^", i + 1)
            end += pattern.startswith("]", end)  # a ] first in a class is a literal
            out.append(pattern[i:end])
            i = end
            continue
        in_class = in_class and char != "]"
        out.append(char)
        i += 1
    return "".join(out)


@condition("regex", Regex, "a regular expression matches a turn")
def _regex(p: Regex, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    window = select_turns(ctx, scope, within)
    pattern = compile_regex(p.regex, p.ignore_case)
    evidence = []
    for idx in window.indices:
        text = str(ctx.turns.at[idx, "raw_text" if p.on == "raw" else "text"])
        match = pattern.search(text)
        if match:
            evidence.append(ctx.turn_evidence(idx, f"matched /{p.regex}/: “{match.group(0)}”"))
    return Result(bool(evidence), tuple(evidence), f"{window.label}, for /{p.regex}/",
                  window=window)


# -- metric -------------------------------------------------------------------------------------

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "eq": lambda a, b: a == b,
}
_SYMBOLS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤", "eq": "="}


class _Comparison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    eq: float | None = None

    def comparisons(self) -> list[tuple[str, float]]:
        return [(op, getattr(self, op)) for op in _COMPARISONS if getattr(self, op) is not None]

    def holds(self, value: float) -> bool:
        return all(_COMPARISONS[op](value, bound) for op, bound in self.comparisons())

    def text(self) -> str:
        return " and ".join(f"{_SYMBOLS[op]} {bound:g}" for op, bound in self.comparisons())

    @model_validator(mode="after")
    def _has_comparison(self) -> _Comparison:
        if not self.comparisons():
            raise ValueError("needs a comparison: gt, ge, lt, le or eq")
        return self


class Metric(_Comparison):
    metric: str = Field(min_length=1)

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in METRIC_NAMES:
            raise ValueError(f"unknown metric {value!r}; one of {', '.join(sorted(METRIC_NAMES))}")
        return value


def _metric_names() -> frozenset[str]:
    empty = ConversationMetrics(timed=False, duration_s=None, turns=0,
                                talk_time_s={"agent": None, "customer": None},
                                talk_ratio={"agent": None, "customer": None},
                                overtalk_count={"agent": None, "customer": None},
                                overtalk_s={"agent": None, "customer": None},
                                speech_rate={"agent": None, "customer": None})
    return frozenset(empty.flat())


METRIC_NAMES = _metric_names()


def _metric_evidence(name: str, ctx: CallContext) -> list[Evidence]:
    """Where in the call a metric's value comes from."""
    m = ctx.metrics
    if name in ("max_silence_s", "silence_count", "hold_count"):
        return [Evidence(None, s.start, s.end, "", f"silence of {s.duration:.1f} s")
                for s in sorted(m.silences, key=lambda s: -s.duration)[:5]]
    if name.endswith("overtalk_count") or name.endswith("overtalk_s") or name == "overtalk_total":
        role = name.split(".")[0] if "." in name else None
        return [ctx.turn_evidence(o.turn_idx, f"{o.by} spoke over the {o.over} for "
                                  f"{o.overlap_s:.1f} s")
                for o in m.overtalks if role is None or o.by == role][:5]
    if name == "first_response_latency_s" and m.first_response_latency_s is not None:
        answers = ctx.turns[ctx.turns["speaker"] == "agent"]
        if not answers.empty:
            return [ctx.turn_evidence(int(answers.index[0]), "first agent response")]
    return []


@condition("metric", Metric, "a conversation metric compares to a bound")
def _metric(p: Metric, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    value = ctx.metrics.flat().get(p.metric)
    if value is None:
        why = "no timestamps" if not ctx.timed else "no data for it in this call"
        return Result(None, reason=f"metric {p.metric} is unavailable ({why})")
    holds = p.holds(float(value))
    evidence = tuple(_metric_evidence(p.metric, ctx))
    summary = f"{p.metric} = {value:g} ({'' if holds else 'not '}{p.text()})"
    return Result(holds, evidence or (Evidence(None, None, None, "", summary),), summary)


# -- label ----------------------------------------------------------------------------------


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


# -- count --------------------------------------------------------------------------------------


class Count(_Comparison):
    count: Any

    @field_validator("count")
    @classmethod
    def _inner(cls, value: Any, info: Any) -> Condition:
        return _nested(value, info, "count")


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
            parsed.append(_nested(step, info, f"sequence[{number}]"))
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
    return [_nested(part, info, f"{info.field_name}[{i}]") for i, part in enumerate(parts)]


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
        return _nested(value, info, "not")


def _narrowed(scope: Scope, ctx: CallContext, within: list[int] | None) -> list[int] | None:
    if scope == Scope():
        return within
    return select_turns(ctx, scope, within).indices


@condition("all", All, "every part holds (parts that cannot be judged are skipped)")
def _all(p: All, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    results = [part.evaluate(ctx, _narrowed(scope, ctx, within)) for part in p.all]
    judged = [r for r in results if r.value is not None]
    evidence = tuple(e for r in judged for e in r.evidence)
    if not judged:
        return Result(None, reason="; ".join(r.reason for r in results))
    failed = [r for r in judged if not r.value]
    if failed:
        return Result(False, tuple(e for r in failed for e in r.evidence),
                      "; ".join(r.searched for r in failed))
    return Result(True, evidence, "; ".join(r.searched for r in judged))


@condition("any", AnyOf, "at least one part holds (parts that cannot be judged are skipped)")
def _any(p: AnyOf, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    results = [part.evaluate(ctx, _narrowed(scope, ctx, within)) for part in p.any]
    judged = [r for r in results if r.value is not None]
    if not judged:
        return Result(None, reason="; ".join(r.reason for r in results))
    passed = [r for r in judged if r.value]
    if passed:
        return Result(True, tuple(e for r in passed for e in r.evidence),
                      "; ".join(r.searched for r in passed))
    return Result(False, tuple(e for r in judged for e in r.evidence),
                  "; ".join(r.searched for r in judged))


@condition("not", Not, "the inner condition does not hold")
def _not(p: Not, scope: Scope, ctx: CallContext, within: list[int] | None) -> Result:
    inner: Condition = p.not_
    result = inner.evaluate(ctx, _narrowed(scope, ctx, within))
    if result.value is None:
        return result
    return Result(not result.value, result.evidence, f"not ({result.searched})")


def _param_keys() -> frozenset[str]:
    keys = set()
    for kind in CONDITIONS.values():
        for name, info in kind.params.model_fields.items():
            keys.add(info.alias or name)
    return frozenset(keys)


_ALL_PARAM_KEYS = _param_keys()
