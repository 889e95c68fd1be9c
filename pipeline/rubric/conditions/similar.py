"""The ``similar_to`` test: a sentence in scope means what one of the examples means.

    {speaker: agent, similar_to: [我这边已经联系快递加急处理, 给您免费补发一台],
     unlike: [您方便的时候回个电话], min_similarity: 0.55}

Each turn is cut into sentences; a sentence matches when its closest example is a positive one
(closer than every ``unlike`` example) at a similarity of at least ``min_similarity``. The
similarity is the cosine of sentence vectors centred on the mean of ordinary service-call
sentences (``pipeline.models.sentence``), which spreads the encoder's otherwise crowded cosines
(every pair of Chinese sentences is above 0.8 raw). The evidence names the closest example and
the similarity. Thresholds in the bundled rubrics are chosen on labelled dialogues
(bench/tune_similarity.py), not by hand.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.rubric.conditions.base import condition
from pipeline.rubric.conditions.context import CallContext, Evidence, Result
from pipeline.rubric.conditions.scope import Scope, select_turns
from pipeline.text import sentence_spans, substantive

Examples = Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]],
                     Field(min_length=1, max_length=500)]


class SimilarTo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    similar_to: Examples
    unlike: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=500)
    min_similarity: float = Field(0.6, gt=-1, le=1)
    # Only sentences that say more than asking, greeting, thanking or apologising count
    # (``text.substantive``): "did your bank account receive the refund?" is near a refund.
    substantive: bool = False


@condition("similar_to", SimilarTo, "a sentence means what one of the examples means")
def _similar_to(p: SimilarTo, scope: Scope, ctx: CallContext, within: list[int] | None
                ) -> Result:
    if ctx.similarity is None:
        return Result(None, reason="no sentence encoder on this call (similar_to not judged)")
    window = select_turns(ctx, scope, within)
    pieces: list[tuple[int, str]] = []
    for idx in window.indices:
        raw = str(ctx.turns.at[idx, "raw_text"])
        # The sentence with its closing mark, which says whether it asks.
        pieces.extend((idx, raw[a:b]) for a, b in sentence_spans(raw)
                      if not p.substantive or substantive(raw[a:b + 1]))
    only = (", sentences that only ask, greet, thank or apologise not counted"
            if p.substantive else "")
    searched = (f"{window.label}, for sentences like “{p.similar_to[0]}” "
                f"(+{len(p.similar_to) - 1} more) ≥ {p.min_similarity:g}{only}")
    if not pieces:
        return Result(False, (), searched, window=window)
    examples = ctx.similarity.vectors(p.similar_to + p.unlike)
    said = ctx.similarity.vectors([text for _, text in pieces])
    scores = said @ examples.T
    positive = scores[:, :len(p.similar_to)]
    best = positive.argmax(axis=1)
    best_score = positive[np.arange(len(pieces)), best]
    negative = (scores[:, len(p.similar_to):].max(axis=1) if p.unlike
                else np.full(len(pieces), -np.inf))
    evidence: list[Evidence] = []
    seen: set[int] = set()
    for row in np.argsort(-best_score):
        idx, text = pieces[row]
        if best_score[row] < p.min_similarity:
            break
        if best_score[row] <= negative[row] or idx in seen:
            continue
        seen.add(idx)
        evidence.append(ctx.turn_evidence(
            idx, f"“{text}” is like “{p.similar_to[best[row]]}” ({best_score[row]:.2f})"))
    return Result(bool(evidence), tuple(evidence), searched, window=window)
