"""The inspection records store: SQLAlchemy 2.0 tables over SQLite (WAL) or PostgreSQL.

One call has its manifest facts, its turns (PII-redacted unless raw text is configured), its
utterance labels per model version, and one inspection per (rubric hash, model versions) with
the rubric items' results. Writing an inspection again with the same versions rewrites it in
place (same row, new item results), so re-running a batch never duplicates rows and what
people attached to it stays attached; a new rubric or model version adds an inspection, keeps
the old one, and carries a review over to it. A call that failed has one ``failed``
inspection with the reason, replaced when the call is scored.

What people did is never deleted by scoring: review decisions and appeals refer to the
inspection they were made on, and a database trigger (migration 0004) refuses to delete an
inspection that has any. A recording's path is kept only with the hash of the file that
decoded for the call and the folder it was found under, which is all the review app serves.

The schema is created and upgraded by Alembic (``pipeline/store/migrations``), never by
``create_all``, so a database made by one version of callqa upgrades in place.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
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
    create_engine,
    delete,
    event,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

from pipeline.config import ScoringSettings, Settings
from pipeline.pii import redact
from pipeline.scoring import human_scores
from pipeline.support.fsutil import ensure_dir, touch_private
from pipeline.text import search_grams

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SAMPLE_ORIGINS = ("import", "review")  # where labelled samples come from
AUDIO_FIELDS = ("audio_path", "audio_sha256", "audio_root")  # written together or not at all


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
    flags: Mapped[list[Any]] = mapped_column(default=list)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    uncertainty: Mapped[float | None] = mapped_column(Float)  # for the review queue's order
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
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


def display_url(url: str) -> str:
    """The store URL with any password masked, for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: show nothing of it
        return "<store>"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, file_mode: int = 0o600) -> Engine:
    """An engine for ``url``. A SQLite file made here is created with ``file_mode`` (its WAL
    and shared-memory files take the same mode from it) in a folder only its owner enters."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:":
            ensure_dir(Path(path).parent, 0o700)
            touch_private(path, file_mode)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (creates it on an empty database)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


class Store:
    """Sessions and the writes the flows need; the review app queries the tables directly."""

    def __init__(self, url: str, store_raw_text: bool = False, redact_pii: bool = True,
                 upgrade: bool = True, file_mode: int = 0o600) -> None:
        self.url = url
        self.engine = make_engine(url, file_mode)
        self.store_raw_text = store_raw_text
        self.redact_pii = redact_pii
        if upgrade:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings, upgrade: bool = True) -> Store:
        """The configured store: URL, what text is kept, file mode."""
        return cls(settings.store_url, settings.store.store_raw_text, settings.store.redact_pii,
                   upgrade=upgrade, file_mode=settings.file_mode)

    @contextmanager
    def session(self, within: Session | None = None) -> Iterator[Session]:
        """A session in its own transaction, or ``within`` (the caller's transaction, so that
        several writes commit or roll back together)."""
        if within is not None:
            yield within
            return
        with self._sessions.begin() as session:
            yield session

    def optimize(self) -> None:
        """Refresh the query planner's table statistics. Without them SQLite guesses, and on a
        large store it pages the queue in index order through every row instead of starting
        from a search's matches. The nightly run calls this after writing; it reads a sample of
        each index (``analysis_limit``), so it takes well under a second at 100k calls."""
        with self.engine.begin() as connection:
            if self.engine.dialect.name == "sqlite":
                connection.exec_driver_sql("PRAGMA analysis_limit=2000")
            connection.exec_driver_sql("ANALYZE")

    # -- writing -------------------------------------------------------------------------------

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
            stored_texts = self._write_turns(session, call_id, record.turns)
            self._write_labels(session, call_id, versions.get("classifier"), record.labels)
            previous = session.scalars(select(Inspection).where(
                Inspection.call_id == call_id, Inspection.current.is_(True),
                Inspection.status != "failed").order_by(Inspection.id.desc())).first()
            session.execute(delete(Inspection).where(Inspection.call_id == call_id,
                                                     Inspection.status == "failed"))
            inspection = same or Inspection(call_id=call_id)
            self._fill_inspection(inspection, record, versions, key)
            if same is not None:
                session.execute(delete(ItemResult).where(ItemResult.inspection_id == same.id))
                session.expire(same, ["items"])
            else:
                session.add(inspection)
            session.flush()
            items = self._item_rows(inspection.id, record.items)
            session.add_all(items)
            if same is None and previous is not None and previous.status == "reviewed":
                _carry_review(session, previous, inspection, items, record)
            session.execute(update(Inspection).where(Inspection.call_id == call_id,
                                                     Inspection.id != inspection.id)
                            .values(current=False))
            inspection.current = True
            session.execute(delete(CallText).where(CallText.call_id == call_id))
            session.add(CallText(call_id=call_id, grams=search_grams(stored_texts)))
            return inspection.id

    def _write_turns(self, session: Session, call_id: str, turns: pd.DataFrame) -> list[str]:
        """Replace the call's turns (redacted once each); returns the stored texts."""
        session.execute(delete(Turn).where(Turn.call_id == call_id))
        stored_texts = []
        for turn in turns.itertuples(index=False):
            raw = str(turn.raw_text)
            text, spans = self._clean(raw)
            stored_texts.append(text)
            session.add(Turn(call_id=call_id, idx=int(turn.idx), speaker=str(turn.speaker),
                             start=plain_value(turn.start), end=plain_value(turn.end),
                             text=text, raw_text=raw if self.store_raw_text else None,
                             confidence=plain_value(turn.confidence), pii=spans))
        return stored_texts

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
                         versions: dict[str, str], key: str) -> None:
        row = record.inspection
        values = dict(
            rubric_id=row["rubric_id"], rubric_version=int(row["rubric_version"]),
            rubric_hash=row["rubric_hash"], model_versions=versions, version_key=key,
            score=plain_value(row["score"]), fatal=bool(row["fatal"]),
            composite=plain_value(row["composite"]), composite_basis=row["composite_basis"],
            risk_score=plain_value(row["risk_score"]), risk_level=row["risk_level"],
            risk_reasons=self._redact_evidence(row["risk_reasons"]),
            flags=list(row["flags"]), flagged=bool(row["flags"]),
            uncertainty=row.get("uncertainty"), metrics=row.get("metrics") or {},
            started_at=plain_value(record.call.get("started_at")), status=row["status"],
            failure_reason=row.get("failure_reason"), run_id=record.run_id,
            created_at=_timestamp(row.get("created_at")), current=True)
        for name, value in values.items():
            setattr(inspection, name, value)

    def _item_rows(self, inspection_id: int, items: pd.DataFrame) -> list[ItemResult]:
        return [ItemResult(inspection_id=inspection_id, item_id=item.item_id,
                           section=item.section, outcome=item.outcome, points=float(item.points),
                           max_points=float(item.max_points), fatal=bool(item.fatal),
                           evidence=self._redact_evidence(item.evidence), note=str(item.note))
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

    def _redact_evidence(self, evidence: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for entry in evidence or []:
            entry = _jsonable(entry)
            if isinstance(entry, dict):
                for key in ("text", "why"):
                    if isinstance(entry.get(key), str):
                        entry[key] = self._clean(entry[key])[0]
                if isinstance(entry.get("evidence"), list):
                    entry["evidence"] = self._redact_evidence(entry["evidence"])
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

    # -- reading -------------------------------------------------------------------------------

    def run_progress(self, run_id: str) -> tuple[int | None, int]:
        """(calls the run set out to score, calls it has written so far)."""
        from sqlalchemy import func

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
                    "failure_reason": inspection.failure_reason,
                    "created_at": inspection.created_at,
                })
        return pd.DataFrame(rows)


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
