"""A reviewer's answers: stored beside the AI's, the score recomputed from them, and turned
into labelled samples for the next training run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from pipeline.config import ScoringSettings
from pipeline.scoring import human_scores
from pipeline.store import Appeal, ReviewDecision, utcnow
from review.queries import CallView

OUTCOMES = ("pass", "fail", "na")
RISK_LEVELS = ("low", "medium", "high")
_LABEL_EVIDENCE = re.compile(r"^((?:agent|customer)\.[a-z_]+) p=")


@dataclass(frozen=True)
class Outcome:
    """What a decision changed."""

    changed: dict[str, tuple[str | None, str]]  # item → (AI, human)
    score_before: float | None
    score_after: float | None
    samples: pd.DataFrame


def latest_answers(view: CallView) -> dict[str, str]:
    """Each item's (and ``risk``'s) latest human answer on this inspection."""
    answers: dict[str, str] = {}
    for decision in view.decisions:  # in id order: later answers win
        answers[decision.item_id] = decision.human_outcome
    return answers


def record_decision(session: Session, view: CallView, reviewer: str, answers: dict[str, str],
                    risk_level: str | None, comment: str,
                    scoring: ScoringSettings) -> Outcome:
    """Store one review: a decision row per item (confirmed or overridden) and the risk
    judgement; recompute the score from the human answers; mark the call reviewed."""
    inspection = view.inspection
    if inspection is None or inspection.status == "failed":
        raise ValueError("this call has no scored inspection to review")
    items = {item.item_id: item for item in view.items}
    unknown = set(answers) - set(items)
    if unknown or any(v not in OUTCOMES for v in answers.values()):
        raise ValueError(f"unknown items or outcomes: {sorted(unknown) or answers}")
    if risk_level is not None and risk_level not in RISK_LEVELS:
        raise ValueError(f"risk level must be one of {RISK_LEVELS}")
    before = inspection.human_score if inspection.status == "reviewed" else inspection.score
    changed: dict[str, tuple[str | None, str]] = {}
    for item_id, item in items.items():
        human = answers.get(item_id, item.outcome)
        session.add(ReviewDecision(inspection_id=inspection.id, call_id=view.call.call_id,
                                   reviewer=reviewer, item_id=item_id, ai_outcome=item.outcome,
                                   human_outcome=human, comment=comment))
        if human != item.outcome:
            changed[item_id] = (item.outcome, human)
    human_risk = risk_level or inspection.risk_level or "low"
    session.add(ReviewDecision(inspection_id=inspection.id, call_id=view.call.call_id,
                               reviewer=reviewer, item_id="risk",
                               ai_outcome=inspection.risk_level, human_outcome=human_risk,
                               comment=comment))
    if human_risk != inspection.risk_level:
        changed["risk"] = (inspection.risk_level, human_risk)
    outcomes = {item_id: answers.get(item_id, item.outcome) for item_id, item in items.items()}
    _rescore(view, outcomes, scoring)
    inspection.human_risk_level = human_risk
    inspection.status = "reviewed"
    inspection.reviewed_by = reviewer
    inspection.reviewed_at = utcnow()
    samples = decision_samples(view, outcomes, human_risk, taught_labels(inspection.rubric_id))
    return Outcome(changed, before, inspection.human_score, samples)


def _rescore(view: CallView, outcomes: dict[str, str], scoring: ScoringSettings) -> None:
    inspection = view.inspection
    assert inspection is not None
    inspection.human_score, inspection.human_composite = human_scores(
        view.items, outcomes, view.call.customer_rating, view.call.nps, scoring)


def resolve_appeal(session: Session, view: CallView, appeal: Appeal, resolver: str,
                   uphold: bool, note: str, scoring: ScoringSettings) -> str:
    """Uphold or reject an appeal; returns what it did to the score. Upholding sets the item
    on the call's current inspection to the opposite of the answer the agent disputed and
    recomputes the score; when the call has been scored since with a rubric that no longer
    has the item, the appeal is resolved and the score stays as it is."""
    appeal.status = "upheld" if uphold else "rejected"
    appeal.resolver = resolver
    appeal.resolution = note
    appeal.resolved_at = utcnow()
    items = {item.item_id: item for item in view.items}
    if not uphold:
        return "rejected: score unchanged"
    if view.inspection is None or appeal.item_id not in items:
        return "item not in the current rubric: score unchanged"
    item = items[appeal.item_id]
    answers = {k: v for k, v in latest_answers(view).items() if k in items}
    disputed = appeal.outcome or answers.get(appeal.item_id, item.outcome)
    flipped = {"pass": "fail", "fail": "pass"}.get(disputed, disputed)
    session.add(ReviewDecision(inspection_id=view.inspection.id, call_id=view.call.call_id,
                               reviewer=resolver, item_id=appeal.item_id,
                               ai_outcome=item.outcome, human_outcome=flipped,
                               comment=f"appeal {appeal.id} upheld: {note}"))
    answers[appeal.item_id] = flipped
    outcomes = {item_id: answers.get(item_id, i.outcome) for item_id, i in items.items()}
    _rescore(view, outcomes, scoring)
    if view.inspection.status != "reviewed":
        view.inspection.status = "reviewed"
        view.inspection.human_risk_level = view.inspection.risk_level
    view.inspection.reviewed_by = resolver
    view.inspection.reviewed_at = utcnow()
    return f"{appeal.item_id}: {disputed} → {flipped}"


def taught_labels(rubric_id: str) -> dict[str, str]:
    """Item → the utterance label it ``teaches`` (rubric YAML); {} if the rubric is gone."""
    from pipeline import rubric as rubric_mod

    try:
        return {i.id: i.teaches for i in rubric_mod.load(rubric_id).items if i.teaches}
    except Exception:  # a rubric no longer on disk teaches nothing; the review still counts
        return {}


def decision_samples(view: CallView, outcomes: dict[str, str], human_risk: str,
                     teaches: dict[str, str] | None = None) -> pd.DataFrame:
    """Labelled utterances a review teaches. An item cites the utterances it relied on (the
    turns where a phrase or a classifier label was found); they are examples of the label in
    the evidence (``agent.greeting p=0.91``) or of the item's ``teaches`` label. Confirming
    the item confirms them (1), overriding it refutes them (0); an outcome decided by absence
    cites no turn and teaches nothing, nor does ``na``. Lowering the risk to ``low`` refutes
    the model's risk signals; keeping or raising it confirms them."""
    teaches = teaches or {}
    texts = {turn.idx: turn.text for turn in view.turns}
    rows: list[dict[str, Any]] = []

    def add(evidence: list[dict[str, Any]], label: str | None, value: int) -> None:
        for entry in evidence:
            match = _LABEL_EVIDENCE.match(str(entry.get("why", "")))
            name = match.group(1) if match else label
            idx = entry.get("idx")
            if name and idx in texts:
                rows.append({"text": texts[idx], "label": name, "value": value,
                             "source": f"review:{view.call.call_id}",
                             "group": view.call.call_id})

    for item in view.items:
        human = outcomes[item.item_id]
        if "na" in (human, item.outcome):
            continue
        # Why the item applied (the call is a complaint) is not an example of what it found.
        found = [e for e in item.evidence or [] if not e.get("applies")]
        add(found, teaches.get(item.item_id), int(human == item.outcome))
    inspection = view.inspection
    if inspection is not None and not (human_risk == "low" and inspection.risk_level == "low"):
        value = 0 if human_risk == "low" else 1
        for reason in inspection.risk_reasons or []:
            rule = str(reason.get("rule", ""))
            if rule.startswith("model:"):
                add(reason.get("evidence") or [], rule.removeprefix("model:"), value)
    frame = pd.DataFrame(rows, columns=["text", "label", "value", "source", "group"])
    return frame.drop_duplicates(["text", "label"], keep="last").reset_index(drop=True)
