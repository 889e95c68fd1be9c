"""review: current inspection, human scores, appeals, transcript search

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

FTS = [
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


def upgrade() -> None:
    # Plain ALTER TABLE, never a batch table rebuild: on SQLite a rebuild drops the old table,
    # and with foreign keys on that cascades to every item result.
    op.add_column("inspections", sa.Column("current", sa.Boolean(), nullable=False,
                                           server_default=sa.true()))
    op.add_column("inspections", sa.Column("human_score", sa.Float(), nullable=True))
    op.add_column("inspections", sa.Column("human_composite", sa.Float(), nullable=True))
    op.add_column("inspections", sa.Column("human_risk_level", sa.String(length=10),
                                           nullable=True))
    op.add_column("inspections", sa.Column("reviewed_by", sa.String(length=100), nullable=True))
    op.add_column("inspections", sa.Column("reviewed_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column("inspections", sa.Column("started_at", sa.DateTime(timezone=True),
                                           nullable=True))
    op.create_index("ix_inspections_queue", "inspections", ["current", "flagged", "status"])
    op.create_index("ix_inspections_current_started", "inspections", ["current", "started_at"])
    op.execute("UPDATE inspections SET started_at = (SELECT calls.started_at FROM calls "
               "WHERE calls.call_id = inspections.call_id)")
    # Only each call's newest inspection is current.
    op.execute("UPDATE inspections SET current = (id IN (SELECT MAX(id) FROM inspections "
               "GROUP BY call_id))")
    op.create_table(
        "appeals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column("item_id", sa.String(length=100), nullable=False),
        sa.Column("agent", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolver", sa.String(length=100), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["inspection_id"], ["inspections.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_appeals_inspection_id", "appeals", ["inspection_id"])
    op.create_index("ix_appeals_call_id", "appeals", ["call_id"])
    op.create_index("ix_appeals_status", "appeals", ["status"])
    op.create_table(
        "call_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.call_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in FTS:
            op.execute(statement)
    # Transcripts already stored become searchable.
    op.execute("INSERT INTO call_text (call_id, text) SELECT call_id, "
               + ("group_concat(text, ' ')" if op.get_bind().dialect.name == "sqlite"
                  else "string_agg(text, ' ' ORDER BY idx)")
               + " FROM turns GROUP BY call_id")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("call_text_ai", "call_text_ad", "call_text_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS call_text_fts")
    op.drop_table("call_text")
    op.drop_table("appeals")
    op.drop_index("ix_inspections_queue", table_name="inspections")
    op.drop_index("ix_inspections_current_started", table_name="inspections")
    for column in ("started_at", "reviewed_at", "reviewed_by", "human_risk_level",
                   "human_composite", "human_score", "current"):
        op.drop_column("inspections", column)  # SQLite ≥ 3.35 drops columns in place
