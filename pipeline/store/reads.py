"""The read side of the store the flows and reports need: what a resumed run may skip, a
customer's recent complaints, inspections for exports, labelled samples, runs. The review app
queries the tables directly (``review.queries``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store.tables import (
    SAMPLE_ORIGINS,
    Call,
    Inspection,
    LabeledSample,
    Run,
    UtteranceLabel,
    as_utc,
    version_key,
)


class StoreReads:
    """``Store``'s reads, mixed into it: each in its own ``session``."""

    session: Callable[..., AbstractContextManager[Session]]

    def samples(self, origins: Sequence[str] = SAMPLE_ORIGINS,
                since: datetime | None = None) -> pd.DataFrame:
        """Labelled samples of these origins (added after ``since``, when given)."""
        query = select(LabeledSample.text, LabeledSample.label, LabeledSample.value,
                       LabeledSample.source, LabeledSample.group, LabeledSample.origin,
                       LabeledSample.added_at).where(LabeledSample.origin.in_(list(origins)))
        if since is not None:
            query = query.where(LabeledSample.added_at > as_utc(since))
        with self.session() as session:
            rows = session.execute(query.order_by(LabeledSample.id)).all()
        return pd.DataFrame(rows, columns=["text", "label", "value", "source", "group",
                                           "origin", "added_at"])

    def runs(self, kind: str, limit: int = 50) -> list[Run]:
        """The latest runs of this kind, newest first."""
        with self.session() as session:
            return list(session.scalars(select(Run).where(Run.kind == kind)
                                        .order_by(Run.started_at.desc()).limit(limit)))

    def run_progress(self, run_id: str) -> tuple[int | None, int]:
        """(calls the run set out to score, calls it has written so far)."""
        with self.session() as session:
            run = session.get(Run, run_id)
            written = session.scalar(select(func.count()).select_from(Inspection)
                                     .where(Inspection.run_id == run_id)) or 0
        planned = (run.summary or {}).get("to_score") if run is not None else None
        return planned, int(written)

    def scored_calls(self, call_ids: Sequence[str], rubric_hashes: Sequence[str],
                     classifier: str | None) -> set[str]:
        """The calls among ``call_ids`` already scored with one of these rubrics and this
        classifier version: what a resumed run may skip."""
        done: set[str] = set()
        ids = list(call_ids)
        with self.session() as session:
            for start in range(0, len(ids), 500):
                rows = session.execute(
                    select(Inspection.call_id, Inspection.model_versions).where(
                        Inspection.call_id.in_(ids[start:start + 500]),
                        Inspection.status != "failed",
                        Inspection.rubric_hash.in_(list(rubric_hashes))))
                for call_id, versions in rows:
                    if (versions or {}).get("classifier") == classifier:
                        done.add(call_id)
        return done

    def customer_history(self, customer_id: str | None, before: datetime | None,
                         days: int = 30, exclude_call: str | None = None) -> Any:
        """The customer's complaints in the ``days`` before ``before``: calls where a customer
        turn was labelled a complaint (p ≥ 0.5) or whose risk was medium or high."""
        from pipeline.risk import CustomerHistory

        if not customer_id or before is None:
            return None
        before = as_utc(before)
        since = before - timedelta(days=days)
        with self.session() as session:
            calls = session.execute(
                select(Call.call_id, Call.order_id).where(
                    Call.customer_id == customer_id, Call.started_at >= since,
                    Call.started_at < before, Call.call_id != (exclude_call or ""))).all()
            if not calls:
                return CustomerHistory(0, 0)
            ids = [c.call_id for c in calls]
            risky = set(session.scalars(select(Inspection.call_id).where(
                Inspection.call_id.in_(ids), Inspection.risk_level.in_(("medium", "high")))))
            complained = set(session.scalars(select(UtteranceLabel.call_id).where(
                UtteranceLabel.call_id.in_(ids), UtteranceLabel.label == "customer.complaint",
                UtteranceLabel.probability >= 0.5)))
        hits = [c for c in calls if c.call_id in risky | complained]
        orders = {c.order_id for c in hits if c.order_id}
        return CustomerHistory(len(hits), len(orders))

    def inspection_rows(self, date_from: datetime | None = None,
                        date_to: datetime | None = None) -> pd.DataFrame:
        """Inspections joined with their call's facts, for exports and reports."""
        query = select(Inspection, Call).join(Call, Call.call_id == Inspection.call_id)
        when = Call.started_at
        if date_from is not None:
            query = query.where(when >= as_utc(date_from))
        if date_to is not None:
            query = query.where(when < as_utc(date_to))
        rows = []
        with self.session() as session:
            for inspection, call in session.execute(query.order_by(Inspection.id)):
                outcome = inspection.outcome or {}
                rows.append({
                    "inspection_id": inspection.id, "call_id": call.call_id,
                    "started_at": call.started_at, "agent_id": call.agent_id, "team": call.team,
                    "queue": call.queue, "language": call.language,
                    "duration_s": call.duration_s, "customer_id": call.customer_id,
                    "rubric_id": inspection.rubric_id, "rubric_version": inspection.rubric_version,
                    "rubric_hash": inspection.rubric_hash,
                    "model_versions": version_key(inspection.model_versions or {}),
                    "score": inspection.score, "fatal": inspection.fatal,
                    "composite": inspection.composite,
                    "composite_basis": inspection.composite_basis,
                    "risk_score": inspection.risk_score, "risk_level": inspection.risk_level,
                    "flags": ";".join(inspection.flags or []), "status": inspection.status,
                    "compliance": ";".join(sorted({f.get("category", "")
                                                   for f in inspection.compliance or []})),
                    "failure_reason": inspection.failure_reason,
                    "resolution": outcome.get("resolution"),
                    "dissatisfied_probability": outcome.get("dissatisfied_probability"),
                    "complaint_probability": outcome.get("complaint_probability"),
                    "category": outcome.get("category"),
                    "category_probability": outcome.get("category_probability"),
                    "contact_reason": outcome.get("contact_reason"),
                    "created_at": inspection.created_at,
                })
        return pd.DataFrame(rows)
