"""The inspection records store: SQLAlchemy 2.0 tables over SQLite (WAL) or PostgreSQL.

``tables`` holds the schema's classes, ``engine`` makes engines and runs the Alembic
migrations (``pipeline/store/migrations``), ``writes`` and ``reads`` are the two sides of
``Store``, and ``search`` writes a call's search text. Every name is importable from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import Settings
from pipeline.store.engine import MIGRATIONS, display_url, make_engine, migrate, sqlite_url
from pipeline.store.reads import StoreReads
from pipeline.store.tables import (
    SAMPLE_ORIGINS,
    Appeal,
    AuditEntry,
    Base,
    Call,
    CallText,
    Inspection,
    ItemResult,
    LabeledSample,
    ReviewDecision,
    Run,
    Team,
    Turn,
    User,
    UserTeam,
    UtteranceLabel,
    as_utc,
    utcnow,
    version_key,
)
from pipeline.store.writes import AUDIO_FIELDS, CallRecord, StoreWrites, plain_value

__all__ = [
    "AUDIO_FIELDS", "MIGRATIONS", "SAMPLE_ORIGINS", "Appeal", "AuditEntry", "Base", "Call",
    "CallRecord", "CallText", "Inspection", "ItemResult", "LabeledSample", "ReviewDecision",
    "Run", "Store", "Team", "Turn", "User", "UserTeam", "UtteranceLabel", "as_utc",
    "display_url", "make_engine", "migrate", "plain_value", "sqlite_url", "utcnow",
    "version_key",
]


class Store(StoreWrites, StoreReads):
    """Sessions and the writes and reads the flows need (``StoreWrites``, ``StoreReads``); the
    review app queries the tables directly."""

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
