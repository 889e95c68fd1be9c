"""compliance: the agent-side compliance findings of each inspection

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:45:00

``inspections.compliance`` (JSON list): what the agent asked or advised that it must never
(remote access, credentials, payment to a personal account, tax evasion), each finding with
its evidence (``pipeline.compliance``). Rows scored before this revision have an empty list.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch rebuild (see 0002: a rebuild cascades on SQLite).
    op.add_column("inspections", sa.Column("compliance", sa.JSON(), nullable=False,
                                           server_default=sa.text("'[]'")))


def downgrade() -> None:
    op.drop_column("inspections", "compliance")
