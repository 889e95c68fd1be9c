"""From a call's turns to a scored inspection: QA score, fatal items, composite, flags.

Every review flag is decided here, so the inspection row validated against
``InspectionSchema`` is the row the store writes: a fatal item, a low score, high risk, speaker
roles not known (``roles_unknown``: the agent's items are ``na``, the call is not assessed) and,
in the nightly batch (``BatchChecks``), low ASR confidence and the calibration sample.

QA score: points earned over points available on the items that apply (``na`` items are out
of the denominator), 0-100. A fatal failure sets the score to 0 and flags the call. A call
whose speaker roles are not known has no QA score (None): what is left after the agent's items
are ``na`` (dead air, say) is not the agent's score, and a 100 there would be a free pass.

Composite: the users' scorecard, customer rating 40 % + QA 30 % + NPS 30 % by default, each on
0-100 (rating 1-5 → 0-100, NPS 0-10 → 0-100). A missing rating or NPS is left out and the
weights of what is present are rescaled to sum to one; ``composite_basis`` records which
components were used, so two composites are comparable only with the same basis.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from pandera.typing import DataFrame

from pipeline.compliance import findings as compliance_findings
from pipeline.compliance import flags as compliance_flags
from pipeline.config import NightlySettings, ScoringSettings
from pipeline.conversation import ConversationMetrics, Roles, measure, turns_from_document
from pipeline.outcomes import CallOutcome, judge_outcome
from pipeline.risk import CustomerHistory, RiskAssessment, assess
from pipeline.rubric import ItemJudgement, Rubric, evaluate
from pipeline.rubric.conditions import CallContext, Similarity
from pipeline.schemas import ITEM_RESULT_COLUMNS, InspectionSchema, ItemResultSchema, TurnSchema

# Every reason a call is flagged for review (a flag is ``reason`` or ``reason:detail``): the
# review queue filters on these.
FLAG_REASONS = ("fatal", "low_score", "high_risk", "compliance", "low_asr_confidence",
                "calibration_sample", "roles_unknown", "roles_uncertain", "channels_swapped",
                "asr_gap")
# Flags of calls whose agent could not be judged: reports count them apart ("not assessable"),
# out of agent rankings and problem areas.
NOT_ASSESSABLE_FLAGS = frozenset({"roles_unknown", "roles_uncertain"})


@dataclass(frozen=True)
class CallFacts:
    """What the centre knows about a call besides its words (manifest columns)."""

    customer_rating: float | None = None  # 1-5
    nps: float | None = None  # 0-10
    model_versions: dict[str, str] = field(default_factory=dict)
    history: CustomerHistory | None = None  # the customer's earlier complaints, if known


@dataclass(frozen=True)
class RecordingFacts:
    """What the recording says besides the words (a transcript's ``roles``, ``speech`` and
    ``audio``): whether the roles are known, where the audio carries speech, one channel."""

    roles: Roles | None = None  # None: as the turns say (``conversation.roles_of``)
    role_source: str | None = None  # channels | diarization | none
    role_confidence: float | None = None
    role_evidence: tuple[str, ...] = ()
    channels_swapped: bool = False
    speech: tuple[tuple[float, float], ...] | None = None
    single_stream: bool = False  # one channel: overlaps only from ``overlaps``
    # Mono: where the audio model heard two voices at once, (start, end, role who started).
    overlaps: tuple[tuple[float, float, str], ...] | None = None

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> RecordingFacts:
        roles = document.get("roles") or {}
        audio = document.get("audio") or {}
        speech = document.get("speech")
        overlaps = document.get("overlaps")
        return cls(
            roles=roles.get("status"),
            role_source=roles.get("source"),
            role_confidence=roles.get("confidence"),
            role_evidence=tuple(str(e) for e in roles.get("evidence") or ()),
            channels_swapped=bool(roles.get("swapped")),
            speech=None if speech is None else tuple((float(s), float(e)) for s, e in speech),
            single_stream=audio.get("channels") == 1 or audio.get("layout") == "mono",
            overlaps=None if overlaps is None else tuple(
                (float(o["start"]), float(o["end"]), str(o["by"])) for o in overlaps),
        )


@dataclass(frozen=True)
class Scorecard:
    inspection: dict[str, Any]  # one InspectionSchema row
    items: pd.DataFrame  # ItemResultSchema rows
    turns: pd.DataFrame
    metrics: ConversationMetrics
    judgements: list[ItemJudgement]
    risk: RiskAssessment
    labels: pd.DataFrame | None = None  # (idx, label, probability) the items were judged with
    recording: RecordingFacts = field(default_factory=RecordingFacts)
    outcome: CallOutcome | None = None  # resolution, dissatisfaction, contact reason

    def as_json(self) -> dict[str, Any]:
        """The scorecard as JSON-ready data (``callqa score --json``)."""
        inspection = {**self.inspection, "created_at": self.inspection["created_at"].isoformat()}
        metrics = self.metrics
        return {
            "inspection": inspection,
            "outcome": inspection["outcome"],
            "items": self.items.to_dict(orient="records"),
            "metrics": {**metrics.flat(),
                        "silences": [{"start": s.start, "end": s.end, "kind": s.kind,
                                      "cue": s.cue, "cue_turn": s.cue_turn}
                                     for s in metrics.silences],
                        "asr_gaps": [{"start": g.start, "end": g.end} for g in metrics.asr_gaps],
                        "overtalks": [vars(o) for o in metrics.overtalks],
                        "speech_rate_unit": metrics.speech_rate_unit},
        }


def qa_score(judgements: list[ItemJudgement]) -> tuple[float, bool]:
    """(score 0-100, fatal) over the items that apply."""
    return score_outcomes([(j.outcome, j.item.points, j.item.fatal) for j in judgements])


def score_outcomes(items: list[tuple[str, float, bool]]) -> tuple[float, bool]:
    """(score 0-100, fatal) from (outcome, max points, fatal item) per item: what the AI's
    judgements and a reviewer's answers are both scored with."""
    fatal = any(is_fatal and outcome == "fail" for outcome, _, is_fatal in items)
    applicable = [(outcome, points) for outcome, points, _ in items
                  if outcome != "na" and points > 0]
    available = sum(points for _, points in applicable)
    earned = sum(points for outcome, points in applicable if outcome == "pass")
    score = 100.0 if available == 0 else 100.0 * earned / available
    return (0.0 if fatal else round(score, 2)), fatal


def composite(qa: float | None, rating: float | None, nps: float | None,
              settings: ScoringSettings | None = None) -> tuple[float | None, str]:
    """Weighted composite over the components present, and which ones they were."""
    settings = settings or ScoringSettings()
    parts: dict[str, tuple[float, float]] = {}
    if _present(rating):
        parts["rating"] = ((float(rating) - 1) / 4 * 100, settings.weight_rating)
    if _present(qa):
        parts["qa"] = (float(qa), settings.weight_qa)
    if _present(nps):
        parts["nps"] = (float(nps) * 10, settings.weight_nps)
    total_weight = sum(weight for _, weight in parts.values())
    if not parts or total_weight == 0:
        return None, "none"
    value = sum(v * w for v, w in parts.values()) / total_weight
    return round(value, 2), "+".join(parts)


def human_scores(items: Sequence[Any], answers: Mapping[str, str], rating: float | None,
                 nps: float | None, settings: ScoringSettings) -> tuple[float, float | None]:
    """(QA score, composite) of a reviewed call: each item (``item_id``, ``outcome``,
    ``max_points``, ``fatal``) takes people's answer where there is one, the AI's elsewhere."""
    score, _ = score_outcomes([(answers.get(i.item_id, i.outcome), i.max_points, i.fatal)
                               for i in items])
    return score, composite(score, rating, nps, settings)[0]


def _present(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@dataclass(frozen=True)
class BatchChecks:
    """The nightly batch's extra review flags (``[nightly]``); a call scored on its own has none."""

    low_asr_confidence: float  # mean turn confidence under this flags the call
    calibration_share: float  # this share of all calls goes to people to calibrate the AI

    @classmethod
    def from_settings(cls, settings: NightlySettings) -> BatchChecks:
        return cls(settings.low_asr_confidence, settings.calibration_sample)


def score_document(document: dict[str, Any], rubric: Rubric, facts: CallFacts | None = None,
                   settings: ScoringSettings | None = None,
                   labels: pd.DataFrame | None = None,
                   duration_s: float | None = None,
                   turns: DataFrame[TurnSchema] | None = None,
                   batch: BatchChecks | None = None,
                   similarity: Similarity | None = None) -> Scorecard:
    """Judge one transcript JSON against ``rubric``. ``turns``: the document's turns when the
    caller has built them already (``turns_from_document``), so they are built once."""
    turns = turns_from_document(document) if turns is None else turns
    language = str(document.get("language", rubric.language))
    duration = duration_s or (document.get("audio") or {}).get("duration_s")
    if labels is None:
        labels = labels_from_document(document)
    return score_turns(str(document["call_id"]), language, turns, rubric, facts, settings,
                       labels, duration, batch, RecordingFacts.from_document(document),
                       similarity)


def score_turns(call_id: str, language: str, turns: DataFrame[TurnSchema], rubric: Rubric,
                facts: CallFacts | None = None, settings: ScoringSettings | None = None,
                labels: pd.DataFrame | None = None, duration_s: float | None = None,
                batch: BatchChecks | None = None,
                recording: RecordingFacts | None = None,
                similarity: Similarity | None = None) -> Scorecard:
    """Judge one call's turns (built and validated once, by ``turns_from_document``)."""
    facts = facts or CallFacts()
    settings = settings or ScoringSettings()
    recording = recording or RecordingFacts()
    metrics = measure(turns, language, duration_s, roles=recording.roles,
                      speech=recording.speech, single_stream=recording.single_stream,
                      overlaps=recording.overlaps)
    outcome = judge_outcome(turns, metrics.roles, similarity)
    ctx = CallContext(call_id, language, turns, metrics, labels, similarity, outcome)
    judgements = evaluate(rubric, ctx)
    score, fatal = qa_score(judgements)
    qa = None if metrics.roles != "known" and not fatal else score  # not assessable
    value, basis = composite(qa, facts.customer_rating, facts.nps, settings)
    risk = assess(turns, facts.history, labels=labels, roles=metrics.roles)
    compliance = compliance_findings(turns, metrics.roles)
    flags = review_flags(call_id, judgements, qa, fatal, risk, turns, settings, batch,
                         roles=metrics.roles)
    flags += compliance_flags(compliance)
    flags += recording_flags(metrics, recording, settings)
    inspection = {
        "call_id": ctx.call_id,
        "rubric_id": rubric.id,
        "rubric_version": rubric.version,
        "rubric_hash": rubric.content_hash,
        "model_versions": dict(facts.model_versions),
        "score": qa,
        "fatal": fatal,
        "composite": value,
        "composite_basis": basis,
        "risk_score": risk.score,
        "risk_level": risk.level,
        "risk_reasons": [reason.as_dict() for reason in risk.reasons],
        "compliance": [finding.as_dict() for finding in compliance],
        "flags": flags,
        "uncertainty": uncertainty(labels),
        "metrics": {**{k: v for k, v in metrics.flat().items()
                       if v is None or isinstance(v, int | float | str)},
                    "roles": metrics.roles,
                    "role_confidence": recording.role_confidence,
                    # where speech got no words: shown on the call page, to listen to
                    "asr_gaps": [[g.start, g.end] for g in
                                 sorted(metrics.asr_gaps, key=lambda g: -g.duration)[:10]]},
        "outcome": outcome.as_dict() if outcome is not None else None,
        "status": "scored",
        "failure_reason": None,
        "created_at": pd.Timestamp(datetime.now(UTC)),
    }
    InspectionSchema.validate(pd.DataFrame([inspection]))
    items = item_rows(ctx.call_id, rubric, judgements)
    return Scorecard(inspection, items, turns, metrics, judgements, risk, labels, recording,
                     outcome)


def review_flags(call_id: str, judgements: list[ItemJudgement], score: float | None,
                 fatal: bool, risk: RiskAssessment, turns: pd.DataFrame, settings: ScoringSettings,
                 batch: BatchChecks | None, roles: Roles = "known") -> list[str]:
    """Why a person should look at this call; empty when nobody needs to."""
    flags = [f"fatal:{j.item.id}" for j in judgements if j.fatal]
    if not fatal and score is not None and score < settings.review_below:
        flags.append(f"low_score:{score:g}<{settings.review_below:g}")
    if risk.level == "high":
        flags.append(f"high_risk:{risk.score:g}")
    if roles != "known":
        # Its agent items are na and its risk is capped at medium: only a person can say
        # what the agent did and whether the customer threatened.
        flags.append(f"roles_{roles}")
    if batch is None:
        return flags
    confidence = mean_confidence(turns)
    if confidence is not None and confidence < batch.low_asr_confidence:
        flags.append(f"low_asr_confidence:{confidence:.2f}")
    if in_calibration_sample(call_id, batch.calibration_share):
        flags.append("calibration_sample")
    return flags


def recording_flags(metrics: ConversationMetrics, recording: RecordingFacts,
                    settings: ScoringSettings) -> list[str]:
    """What the recording itself asks a person to check: channels found swapped (the
    roles were corrected, a person should fix the line's layout) and speech without words."""
    flags = ["channels_swapped"] if recording.channels_swapped else []
    gap = metrics.max_asr_gap_s
    if gap is not None and gap >= settings.asr_gap_review_s:
        flags.append(f"asr_gap:{gap:.0f}s")
    return flags


def in_calibration_sample(call_id: str, share: float) -> bool:
    """A fixed pseudo-random share of calls: the same call is picked on every re-run."""
    bucket = int(hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < share


def mean_confidence(turns: pd.DataFrame) -> float | None:
    values = turns["confidence"].dropna()
    return None if values.empty else round(float(values.mean()), 4)


def uncertainty(labels: pd.DataFrame | None) -> float | None:
    """How unsure the classifiers were on this call: the mean of 1 - |2p - 1| over the call's
    five least certain (utterance, label) pairs. Reviews of uncertain calls teach the most."""
    if labels is None or labels.empty:
        return None
    closeness = 1 - (2 * labels["probability"].astype(float) - 1).abs()
    return round(float(closeness.nlargest(5).mean()), 4)


def item_rows(call_id: str, rubric: Rubric, judgements: list[ItemJudgement]) -> pd.DataFrame:
    rows = [
        {
            "call_id": call_id, "rubric_id": rubric.id, "rubric_version": rubric.version,
            "rubric_hash": rubric.content_hash, "item_id": j.item.id,
            "section": j.item.section, "outcome": j.outcome, "points": j.points,
            "max_points": j.item.points, "fatal": j.fatal,
            "evidence": [e.as_dict() for e in j.evidence], "note": j.note,
        }
        for j in judgements
    ]
    return ItemResultSchema.validate(pd.DataFrame(rows, columns=ITEM_RESULT_COLUMNS))


def labels_from_document(document: dict[str, Any]) -> pd.DataFrame | None:
    """Labels written into the transcript (``turns[i].labels: {label: p}``), if any.

    Until the classifiers run inside the pipeline this is how a ``label`` condition gets
    its input; positions follow the turn order of ``turns_from_document``.
    """
    if not any("labels" in turn for turn in document.get("turns", [])):
        return None
    turns = list(document["turns"])
    if all(turn.get("start") is not None for turn in turns):
        turns.sort(key=lambda turn: turn["start"])
    rows = [
        {"idx": idx, "label": label, "probability": float(probability)}
        for idx, turn in enumerate(turns)
        for label, probability in (turn.get("labels") or {}).items()
    ]
    return pd.DataFrame(rows, columns=["idx", "label", "probability"])
