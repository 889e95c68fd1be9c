"""Engines and the schema: SQLite (WAL, private files) or PostgreSQL, upgraded by Alembic.

The schema is created and upgraded by Alembic (``pipeline/store/migrations``), never by
``create_all``, so a database made by one version of callqa upgrades in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from pipeline.support.fsutil import ensure_dir, touch_private

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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
