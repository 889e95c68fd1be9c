"""security: verified recordings, session versions, appeals that outlive a rescore

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:00:00

- ``calls.audio_sha256`` / ``calls.audio_root``: the review app serves a recording only when it
  is the file that decoded for that call (same hash) and lies inside its recording root. Rows
  written before this revision have no hash, so their recordings are not served until the
  calls are scored again (``callqa run --rescore``): nothing old can be vouched for.
- ``users.session_version``: bumped on logout, password change, disable and enable, so every
  cookie issued before is void.
- ``appeals.outcome``: the outcome the agent disputed, so upholding flips that answer even when
  the call has been scored again since.
- Inspections that people have decided on or appealed cannot be deleted (a trigger, on SQLite
  and PostgreSQL alike): the foreign keys of 0002 cascade, and a rescore once took the
  appeals with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_HUMAN_ROWS = ("EXISTS (SELECT 1 FROM appeals WHERE appeals.inspection_id = old.id) OR "
               "EXISTS (SELECT 1 FROM review_decisions "
               "WHERE review_decisions.inspection_id = old.id)")
_MESSAGE = "an inspection with review decisions or appeals is never deleted"
SQLITE_GUARD = (f"CREATE TRIGGER inspections_keep_human BEFORE DELETE ON inspections "
                f"WHEN {_HUMAN_ROWS} BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END")
POSTGRES_GUARD = [
    "CREATE FUNCTION inspections_keep_human() RETURNS trigger AS $$ BEGIN "
    f"IF {_HUMAN_ROWS} THEN RAISE EXCEPTION '{_MESSAGE}'; END IF; RETURN old; END; "
    "$$ LANGUAGE plpgsql",
    "CREATE TRIGGER inspections_keep_human BEFORE DELETE ON inspections "
    "FOR EACH ROW EXECUTE FUNCTION inspections_keep_human()",
]


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch rebuild (see 0002: a rebuild cascades on SQLite).
    op.add_column("calls", sa.Column("audio_sha256", sa.String(length=64), nullable=True))
    op.add_column("calls", sa.Column("audio_root", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("session_version", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.add_column("appeals", sa.Column("outcome", sa.String(length=4), nullable=True))
    op.execute("UPDATE appeals SET outcome = (SELECT item_results.outcome FROM item_results "
               "WHERE item_results.inspection_id = appeals.inspection_id "
               "AND item_results.item_id = appeals.item_id)")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_GUARD)
    else:
        for statement in POSTGRES_GUARD:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS inspections_keep_human")
    else:
        op.execute("DROP TRIGGER IF EXISTS inspections_keep_human ON inspections")
        op.execute("DROP FUNCTION IF EXISTS inspections_keep_human()")
    op.drop_column("appeals", "outcome")
    op.drop_column("users", "session_version")
    op.drop_column("calls", "audio_root")
    op.drop_column("calls", "audio_sha256")
