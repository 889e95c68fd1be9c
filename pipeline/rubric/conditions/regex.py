"""The ``regex`` test, on RE2 so that no rubric pattern can take more than linear time."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

import re2
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.rubric.conditions.base import condition
from pipeline.rubric.conditions.context import CallContext, Result
from pipeline.rubric.conditions.scope import Scope, select_turns


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
