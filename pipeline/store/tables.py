"""The store's tables (SQLAlchemy 2.0 ORM), the same on SQLite and PostgreSQL.

One call has its manifest facts, its turns (PII-redacted unless raw text is configured), its
utterance labels per model version, and one inspection per (rubric hash, model versions) with
the rubric items' results. A call that failed has one ``failed`` inspection with the reason.
Review decisions and appeals refer to the inspection they were made on, and a database
trigger (migration 0004) refuses to delete an inspection that has any. A recording's path is
kept only with the hash of the file that decoded for the call and the folder it was found
under, which is all the review app serves.

These classes describe the schema; Alembic (``pipeline/store/migrations``) creates it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SAMPLE_ORIGINS = ("import", "review")  # where labelled samples come from


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Every stored time is UTC: SQLite keeps no offset, so a local time would drift."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Team(Base):
    __tablename__ = "teams"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))  # qa_admin | supervisor | agent
    agent_id: Mapped[str | None] = mapped_column(String(100))  # for role agent: their calls
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # In every session cookie; bumped on logout, password change, disable and enable.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    teams: Mapped[list[UserTeam]] = relationship(cascade="all, delete-orphan")


class UserTeam(Base):
    __tablename__ = "user_teams"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    team: Mapped[str] = mapped_column(ForeignKey("teams.name", ondelete="CASCADE"),
                                      primary_key=True)


class Call(Base):
    __tablename__ = "calls"
    call_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # Set only together: the recording that decoded for this call (resolved path, its
    # SHA-256, the recording root it lies in). What the review app may serve.
    audio_path: Mapped[str | None] = mapped_column(Text)
    audio_sha256: Mapped[str | None] = mapped_column(String(64))
    audio_root: Mapped[str | None] = mapped_column(Text)
    transcript_path: Mapped[str | None] = mapped_column(Text)
    layout: Mapped[str | None] = mapped_column(String(30))
    language: Mapped[str | None] = mapped_column(String(10))
    agent_id: Mapped[str | None] = mapped_column(String(100), index=True)
    team: Mapped[str | None] = mapped_column(String(100), index=True)
    queue: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(200), index=True)
    order_id: Mapped[str | None] = mapped_column(String(200))
    customer_rating: Mapped[float | None] = mapped_column(Float)
    nps: Mapped[float | None] = mapped_column(Float)
    duration_s: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (UniqueConstraint("call_id", "idx"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(10))
    start: Mapped[float | None] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)  # redacted unless raw text is stored
    raw_text: Mapped[str | None] = mapped_column(Text)  # only when configured
    confidence: Mapped[float | None] = mapped_column(Float)
    pii: Mapped[list[Any]] = mapped_column(default=list)  # [{kind, start, end}] in the raw text


class UtteranceLabel(Base):
    __tablename__ = "utterance_labels"
    __table_args__ = (UniqueConstraint("call_id", "idx", "label", "model_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"))
    idx: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(100))
    probability: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(100))


class Inspection(Base):
    __tablename__ = "inspections"
    __table_args__ = (
        UniqueConstraint("call_id", "rubric_id", "rubric_hash", "version_key"),
        Index("ix_inspections_created", "created_at"),
        Index("ix_inspections_queue", "current", "flagged", "status"),
        Index("ix_inspections_current_started", "current", "started_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"),
                                         index=True)
    rubric_id: Mapped[str] = mapped_column(String(100))
    rubric_version: Mapped[int | None] = mapped_column(Integer)
    rubric_hash: Mapped[str] = mapped_column(String(16))
    model_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version_key: Mapped[str] = mapped_column(String(400))  # canonical model_versions
    score: Mapped[float | None] = mapped_column(Float)
    fatal: Mapped[bool] = mapped_column(Boolean, default=False)
    composite: Mapped[float | None] = mapped_column(Float)
    composite_basis: Mapped[str] = mapped_column(String(100), default="")
    risk_score: Mapped[float | None] = mapped_column(Float)
    risk_level: Mapped[str | None] = mapped_column(String(10), index=True)
    risk_reasons: Mapped[list[Any]] = mapped_column(default=list)
    # What the agent must never ask or advise (pipeline.compliance), with evidence.
    compliance: Mapped[list[Any]] = mapped_column(JSON, default=list)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    uncertainty: Mapped[float | None] = mapped_column(Float)  # for the review queue's order
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Resolution, dissatisfaction, contact reason (pipeline.outcomes); None: not judged.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(10), index=True)  # scored | failed | reviewed
    failure_reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The call's inspection people see (the newest scored one); older versions stay for audit.
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    # The call's start, copied here so the queue pages in index order (no sort of every row).
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # After review: the score recomputed from the human answers, beside the AI's.
    human_score: Mapped[float | None] = mapped_column(Float)
    human_composite: Mapped[float | None] = mapped_column(Float)
    human_risk_level: Mapped[str | None] = mapped_column(String(10))
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    items: Mapped[list[ItemResult]] = relationship(cascade="all, delete-orphan",
                                                   passive_deletes=True, order_by="ItemResult.id")


class ItemResult(Base):
    __tablename__ = "item_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    section: Mapped[str] = mapped_column(String(100), default="")
    outcome: Mapped[str] = mapped_column(String(4))
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    fatal: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # redacted like the turns
    note: Mapped[str] = mapped_column(Text, default="")


class ReviewDecision(Base):
    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(String(200), index=True)
    reviewer: Mapped[str] = mapped_column(String(100))
    item_id: Mapped[str] = mapped_column(String(100))  # a rubric item, or "risk"
    ai_outcome: Mapped[str | None] = mapped_column(String(10))
    human_outcome: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Appeal(Base):
    """An agent disputes a rubric item's result; a supervisor upholds or rejects it."""

    __tablename__ = "appeals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[str] = mapped_column(String(200), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(4))  # the answer disputed
    agent: Mapped[str] = mapped_column(String(100))  # username
    reason: Mapped[str] = mapped_column(Text)
    # open | upheld | rejected
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    resolver: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CallText(Base):
    """A call's stored (redacted) turns as search bigrams (``text.search_grams``), one row per
    call. On SQLite the FTS5 table ``call_text_fts`` indexes them (kept by triggers), so a
    query of any 2+ characters is an index lookup; elsewhere search is a LIKE on ``grams``."""

    __tablename__ = "call_text"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.call_id", ondelete="CASCADE"),
                                         unique=True)
    grams: Mapped[str] = mapped_column(Text)


class LabeledSample(Base):
    __tablename__ = "labeled_samples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(100), index=True)
    value: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100))
    group: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(20))  # review | import
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                               index=True)


class Run(Base):
    """One nightly or retraining run: what it was asked and what it did."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # nightly | retrain
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(300), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


def version_key(model_versions: dict[str, str]) -> str:
    return json.dumps(model_versions, sort_keys=True, separators=(",", ":"))
