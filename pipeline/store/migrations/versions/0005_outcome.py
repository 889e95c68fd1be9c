"""outcome: the call-level outcome of each inspection

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:20:00

``inspections.outcome`` (JSON, nullable): resolution (resolved / not_resolved / escalated) with
its evidence, the dissatisfied probability and the contact reason (``pipeline.outcomes``).
Rows scored before this revision have none until they are scored again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch rebuild (see 0002: a rebuild cascades on SQLite).
    op.add_column("inspections", sa.Column("outcome", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("inspections", "outcome")
