"""transcript search over character bigrams (2-character words such as 投诉 use the index)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:40:00
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from pipeline.text import search_grams

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The grams are already tokens: the ascii tokenizer splits them at spaces and keeps every
# non-ASCII character, so Chinese, Thai and Vietnamese bigrams stay whole.
GRAMS_FTS = [
    "CREATE VIRTUAL TABLE call_text_fts USING fts5(grams, content='call_text', "
    "content_rowid='id', tokenize='ascii', columnsize=0)",
    "CREATE TRIGGER call_text_ai AFTER INSERT ON call_text BEGIN "
    "INSERT INTO call_text_fts(rowid, grams) VALUES (new.id, new.grams); END",
    "CREATE TRIGGER call_text_ad AFTER DELETE ON call_text BEGIN "
    "INSERT INTO call_text_fts(call_text_fts, rowid, grams) VALUES ('delete', old.id, "
    "old.grams); END",
    "CREATE TRIGGER call_text_au AFTER UPDATE ON call_text BEGIN "
    "INSERT INTO call_text_fts(call_text_fts, rowid, grams) VALUES ('delete', old.id, "
    "old.grams); INSERT INTO call_text_fts(rowid, grams) VALUES (new.id, new.grams); END",
]
TRIGRAM_FTS = [  # migration 0002's, for the downgrade
    "CREATE VIRTUAL TABLE call_text_fts USING fts5(text, content='call_text', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER call_text_ai AFTER INSERT ON call_text BEGIN "
    "INSERT INTO call_text_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER call_text_ad AFTER DELETE ON call_text BEGIN "
    "INSERT INTO call_text_fts(call_text_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "END",
    "CREATE TRIGGER call_text_au AFTER UPDATE ON call_text BEGIN "
    "INSERT INTO call_text_fts(call_text_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO call_text_fts(rowid, text) VALUES (new.id, new.text); END",
]
BATCH = 2000


def _drop_fts() -> None:
    for name in ("call_text_ai", "call_text_ad", "call_text_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS call_text_fts")


def _fill(column: str, make: Callable[[list[str]], str]) -> None:
    """Set ``call_text.<column>`` for every call from its stored turns, in order."""
    connection = op.get_bind()
    texts: dict[str, list[str]] = {}
    for call_id, text in connection.execute(sa.text(
            "SELECT call_id, text FROM turns ORDER BY call_id, idx")):
        texts.setdefault(call_id, []).append(text)
    update = sa.text(f"UPDATE call_text SET {column} = :value WHERE call_id = :call_id")
    rows = [{"call_id": call_id, "value": make(turns)} for call_id, turns in texts.items()]
    for first in range(0, len(rows), BATCH):
        connection.execute(update, rows[first:first + BATCH])


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_fts()
    op.add_column("call_text", sa.Column("grams", sa.Text(), nullable=False,
                                         server_default=""))
    # The grams are made per turn (a phrase must not match across two turns), from the stored
    # turns, which are what call_text.text was joined from.
    _fill("grams", search_grams)
    op.drop_column("call_text", "text")  # SQLite ≥ 3.35 drops columns in place
    if sqlite:
        for statement in GRAMS_FTS:
            op.execute(statement)
        op.execute("INSERT INTO call_text_fts(call_text_fts) VALUES ('rebuild')")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_fts()
    op.add_column("call_text", sa.Column("text", sa.Text(), nullable=False, server_default=""))
    _fill("text", " ".join)
    op.drop_column("call_text", "grams")
    if sqlite:
        for statement in TRIGRAM_FTS:
            op.execute(statement)
        op.execute("INSERT INTO call_text_fts(call_text_fts) VALUES ('rebuild')")
