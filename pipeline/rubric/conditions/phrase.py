"""Phrase tests: ``any_phrase``, ``all_phrases``, ``no_phrase`` (exact, fuzzy or pinyin)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pipeline.phrases import MatchMode, find
from pipeline.rubric.conditions.base import condition
from pipeline.rubric.conditions.context import CallContext, Evidence, Result
from pipeline.rubric.conditions.scope import Scope, select_turns


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
