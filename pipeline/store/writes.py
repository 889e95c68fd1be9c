"""The write side of the store: scored calls, failures, labelled samples, audit rows, runs.

Writing an inspection again with the same versions rewrites it in place (same row, new item
results), so re-running a batch never duplicates rows and what people attached to it stays
attached; a new rubric or model version adds an inspection, keeps the old one, and carries a
review over to it. A call that failed has one ``failed`` inspection with the reason, replaced
when the call is scored. What people did is never deleted by scoring (and migration 0004's
trigger refuses to).

Text is redacted here, once, as it is stored (unless redaction is configured off): turns,
evidence and risk reasons; the call's search text is made from the stored turns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from pipeline.config import ScoringSettings
from pipeline.pii import redact
from pipeline.scoring import human_scores
from pipeline.store.search import write_search_text
from pipeline.store.tables import (
    SAMPLE_ORIGINS,
    AuditEntry,
    Call,
    Inspection,
    ItemResult,
    LabeledSample,
    ReviewDecision,
    Run,
    Turn,
    UtteranceLabel,
    as_utc,
    utcnow,
    version_key,
)

AUDIO_FIELDS = ("audio_path", "audio_sha256", "audio_root")  # written together or not at all


@dataclass
class CallRecord:
    """Everything one scored call writes: manifest facts, turns, labels, the inspection."""

    call: dict[str, Any]  # Call columns
    inspection: dict[str, Any]  # InspectionSchema row (+ optional uncertainty, metrics)
    items: pd.DataFrame  # ItemResultSchema rows
    turns: pd.DataFrame  # TurnSchema rows
    labels: pd.DataFrame | None = None  # (idx, label, probability)
    run_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Weights for the composite of a review carried over to a new rubric version.
    scoring: ScoringSettings = field(default_factory=ScoringSettings)


class StoreWrites:
    """``Store``'s writes, mixed into it: they run in its ``session`` and redact as it is
    configured."""

    store_raw_text: bool
    redact_pii: bool
    session: Callable[..., AbstractContextManager[Session]]

    def _clean(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        if not self.redact_pii:
            return text, []
        redacted, spans = redact(text)
        return redacted, [s.as_dict() for s in spans]

    def _upsert_call(self, session: Session, call: dict[str, Any]) -> None:
        """The call's manifest facts. The recording fields are written only as a verified set
        (``AUDIO_FIELDS``, from ``pipeline.batch.run``); otherwise the stored ones stay: a path
        from a manifest row alone is never kept, so a row cannot point the app at a file."""
        columns = {c.key for c in Call.__table__.columns} - {"updated_at", *AUDIO_FIELDS}
        values = {k: plain_value(v) for k, v in call.items() if k in columns}
        if all(call.get(key) for key in AUDIO_FIELDS):
            values.update({key: str(call[key]) for key in AUDIO_FIELDS})
        existing = session.get(Call, values["call_id"])
        if existing is None:
            session.add(Call(**values, updated_at=utcnow()))
        else:
            for key, value in values.items():
                setattr(existing, key, value)
            existing.updated_at = utcnow()

    def write_call(self, record: CallRecord) -> int:
        """Write one scored call in one transaction; returns the inspection id.

        The same versions again: the inspection is rewritten in place (a reviewed one is left
        as people judged it). New versions: a new inspection becomes current, and a review of
        the one it replaces is carried over (``_carry_review``). Nothing people made is ever
        deleted."""
        call_id = str(record.call["call_id"])
        row = record.inspection
        versions = dict(row.get("model_versions") or {})
        key = version_key(versions)
        with self.session() as session:
            same = session.scalars(select(Inspection).where(
                Inspection.call_id == call_id, Inspection.rubric_id == row["rubric_id"],
                Inspection.rubric_hash == row["rubric_hash"], Inspection.version_key == key,
                Inspection.status != "failed")).first()
            if same is not None and same.status == "reviewed":
                return same.id  # people's judgement of these very results stands
            self._upsert_call(session, record.call)
            session.flush()
            stored_turns = self._write_turns(session, call_id, record.turns)
            redacted = dict(stored_turns)
            self._write_labels(session, call_id, versions.get("classifier"), record.labels)
            previous = session.scalars(select(Inspection).where(
                Inspection.call_id == call_id, Inspection.current.is_(True),
                Inspection.status != "failed").order_by(Inspection.id.desc())).first()
            session.execute(delete(Inspection).where(Inspection.call_id == call_id,
                                                     Inspection.status == "failed"))
            inspection = same or Inspection(call_id=call_id)
            self._fill_inspection(inspection, record, versions, key, redacted)
            if same is not None:
                session.execute(delete(ItemResult).where(ItemResult.inspection_id == same.id))
                session.expire(same, ["items"])
            else:
                session.add(inspection)
            session.flush()
            items = self._item_rows(inspection.id, record.items, redacted)
            session.add_all(items)
            if same is None and previous is not None and previous.status == "reviewed":
                _carry_review(session, previous, inspection, items, record)
            session.execute(update(Inspection).where(Inspection.call_id == call_id,
                                                     Inspection.id != inspection.id)
                            .values(current=False))
            inspection.current = True
            write_search_text(session, call_id, [text for _, text in stored_turns])
            return inspection.id

    def _write_turns(self, session: Session, call_id: str, turns: pd.DataFrame
                     ) -> list[tuple[str, str]]:
        """Replace the call's turns, each redacted once; returns (raw, stored) text per turn,
        which the evidence quoting those turns reuses."""
        session.execute(delete(Turn).where(Turn.call_id == call_id))
        stored: list[tuple[str, str]] = []
        for turn in turns.itertuples(index=False):
            raw = str(turn.raw_text)
            text, spans = self._clean(raw)
            stored.append((raw, text))
            session.add(Turn(call_id=call_id, idx=int(turn.idx), speaker=str(turn.speaker),
                             start=plain_value(turn.start), end=plain_value(turn.end),
                             text=text, raw_text=raw if self.store_raw_text else None,
                             confidence=plain_value(turn.confidence), pii=spans))
        return stored

    @staticmethod
    def _write_labels(session: Session, call_id: str, model_version: str | None,
                      labels: pd.DataFrame | None) -> None:
        if labels is None or not model_version or not len(labels):
            return
        session.execute(delete(UtteranceLabel).where(
            UtteranceLabel.call_id == call_id, UtteranceLabel.model_version == model_version))
        session.add_all(UtteranceLabel(call_id=call_id, idx=int(r.idx), label=str(r.label),
                                       probability=float(r.probability),
                                       model_version=model_version)
                        for r in labels.itertuples(index=False))

    def _fill_inspection(self, inspection: Inspection, record: CallRecord,
                         versions: dict[str, str], key: str, turns: dict[str, str]) -> None:
        row = record.inspection
        values = dict(
            rubric_id=row["rubric_id"], rubric_version=int(row["rubric_version"]),
            rubric_hash=row["rubric_hash"], model_versions=versions, version_key=key,
            score=plain_value(row["score"]), fatal=bool(row["fatal"]),
            composite=plain_value(row["composite"]), composite_basis=row["composite_basis"],
            risk_score=plain_value(row["risk_score"]), risk_level=row["risk_level"],
            risk_reasons=self._redact_evidence(row["risk_reasons"], turns),
            compliance=self._redact_evidence(row.get("compliance") or [], turns),
            flags=list(row["flags"]), flagged=bool(row["flags"]),
            uncertainty=row.get("uncertainty"), metrics=row.get("metrics") or {},
            outcome=self._redact_outcome(row.get("outcome"), turns),
            started_at=plain_value(record.call.get("started_at")), status=row["status"],
            failure_reason=row.get("failure_reason"), run_id=record.run_id,
            created_at=_timestamp(row.get("created_at")), current=True)
        for name, value in values.items():
            setattr(inspection, name, value)

    def _item_rows(self, inspection_id: int, items: pd.DataFrame,
                   turns: dict[str, str]) -> list[ItemResult]:
        return [ItemResult(inspection_id=inspection_id, item_id=item.item_id,
                           section=item.section, outcome=item.outcome, points=float(item.points),
                           max_points=float(item.max_points), fatal=bool(item.fatal),
                           evidence=self._redact_evidence(item.evidence, turns),
                           note=str(item.note))
                for item in items.itertuples(index=False)]

    def write_failure(self, call: dict[str, Any], reason: str, run_id: str | None = None) -> int:
        """Record that a call could not be scored (replacing an earlier failure, if any)."""
        call_id = str(call["call_id"])
        with self.session() as session:
            self._upsert_call(session, call)
            session.flush()
            session.execute(delete(Inspection).where(Inspection.call_id == call_id,
                                                     Inspection.status == "failed"))
            scored = session.scalar(select(Inspection.id).where(
                Inspection.call_id == call_id, Inspection.status != "failed").limit(1))
            inspection = Inspection(call_id=call_id, rubric_id="", rubric_hash="",
                                    version_key="", status="failed", failure_reason=reason,
                                    flags=[], flagged=False, run_id=run_id,
                                    current=scored is None)
            session.add(inspection)
            session.flush()
            return inspection.id

    def _redact_outcome(self, outcome: dict[str, Any] | None, turns: dict[str, str]
                        ) -> dict[str, Any] | None:
        """The call outcome as stored: its evidence like any evidence, and the contact reason
        (a snippet of a customer's words) redacted on its own."""
        if not outcome:
            return None
        stored = _jsonable(outcome)
        evidence = stored.get("evidence") or {}
        stored["evidence"] = dict(zip(evidence, self._redact_evidence(list(evidence.values()),
                                                                      turns), strict=True))
        if isinstance(stored.get("contact_reason"), str):
            stored["contact_reason"] = self._clean(stored["contact_reason"])[0]
        return stored

    def _redact_evidence(self, evidence: Sequence[dict[str, Any]],
                         turns: dict[str, str]) -> list[dict[str, Any]]:
        """Evidence as stored: a quoted turn takes that turn's stored text (``turns``: raw →
        stored), so no turn is redacted twice; anything else (``why``, snippets) is redacted."""
        out = []
        for entry in evidence or []:
            entry = _jsonable(entry)
            if isinstance(entry, dict):
                for key in ("text", "why"):
                    value = entry.get(key)
                    if isinstance(value, str):
                        known = turns.get(value) if key == "text" else None
                        entry[key] = known if known is not None else self._clean(value)[0]
                if isinstance(entry.get("evidence"), list):
                    entry["evidence"] = self._redact_evidence(entry["evidence"], turns)
            out.append(entry)
        return out

    def add_samples(self, samples: pd.DataFrame, origin: str,
                    within: Session | None = None) -> int:
        """Keep labelled samples (text, label, value, source, group) for retraining. The same
        (text, label) from the same origin is replaced, later rows winning; returns how many
        (text, label) pairs are new. ``within``: in the caller's transaction."""
        if origin not in SAMPLE_ORIGINS:
            raise ValueError(f"origin must be one of {SAMPLE_ORIGINS}")
        rows = samples.drop_duplicates(["text", "label"], keep="last")
        pairs = set(zip(rows["text"].astype(str), rows["label"].astype(str), strict=True))
        texts = sorted({text for text, _ in pairs})
        with self.session(within) as session:
            existing: list[tuple[int, str, str]] = []
            for start in range(0, len(texts), 500):
                existing += session.execute(select(
                    LabeledSample.id, LabeledSample.text, LabeledSample.label).where(
                    LabeledSample.origin == origin,
                    LabeledSample.text.in_(texts[start:start + 500]))).tuples().all()
            replaced = [i for i, text, label in existing if (text, label) in pairs]
            for start in range(0, len(replaced), 500):
                session.execute(delete(LabeledSample).where(
                    LabeledSample.id.in_(replaced[start:start + 500])))
            now = utcnow()
            session.add_all(LabeledSample(
                text=str(r.text), label=str(r.label), value=int(r.value), source=str(r.source),
                group=str(r.group), origin=origin, added_at=now)
                for r in rows.itertuples(index=False))
        return len(pairs) - len(replaced)

    def audit(self, actor: str, action: str, target: str = "",
              detail: dict[str, Any] | None = None, within: Session | None = None) -> int:
        """Add an audit row (``within``: in the caller's transaction); returns its id."""
        with self.session(within) as session:
            entry = AuditEntry(actor=actor[:100], action=action, target=target[:300],
                               detail=detail or {})
            session.add(entry)
            session.flush()
            return entry.id

    def update_audit(self, row_id: int, detail: dict[str, Any]) -> None:
        """Merge ``detail`` into an audit row (a lock's count of refused logins)."""
        with self.session() as session:
            entry = session.get(AuditEntry, row_id)
            if entry is not None:
                entry.detail = {**(entry.detail or {}), **detail}

    def start_run(self, run_id: str, kind: str, summary: dict[str, Any]) -> None:
        with self.session() as session:
            session.merge(Run(id=run_id, kind=kind, started_at=utcnow(), summary=summary))

    def finish_run(self, run_id: str, summary: dict[str, Any]) -> None:
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                run = Run(id=run_id, kind="nightly")
                session.add(run)
            run.finished_at = utcnow()
            run.summary = {**(run.summary or {}), **summary}


def _carry_review(session: Session, previous: Inspection, new: Inspection,
                  items: list[ItemResult], record: CallRecord) -> None:
    """A reviewed call scored with a new rubric or model stays reviewed: each item the new
    rubric still has takes the reviewers' latest answer on the call (the decisions stay on
    the inspection they were made on), the rest keep the AI's, and the human score and
    composite are recomputed, as ``review.decisions`` does for a fresh review."""
    answers: dict[str, str] = {}
    for item_id, outcome in session.execute(
            select(ReviewDecision.item_id, ReviewDecision.human_outcome)
            .where(ReviewDecision.call_id == new.call_id).order_by(ReviewDecision.id)):
        answers[item_id] = outcome
    new.status = "reviewed"
    new.reviewed_by, new.reviewed_at = previous.reviewed_by, previous.reviewed_at
    new.human_risk_level = answers.get("risk") or previous.human_risk_level
    new.human_score, new.human_composite = human_scores(
        items, answers, record.call.get("customer_rating"), record.call.get("nps"),
        record.scoring)


def plain_value(value: Any) -> Any:
    """numpy / pandas scalars and NaN/NaT → plain Python values or None; times in UTC."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else as_utc(value.to_pydatetime())
    if isinstance(value, datetime):
        return as_utc(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value
    return value.item() if hasattr(value, "item") else value


def _timestamp(value: Any) -> datetime:
    if value is None:
        return utcnow()
    return as_utc(pd.Timestamp(value).to_pydatetime())


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    return str(value)
