"""Each comment a WordPress export brought keeps its id there, so that a reply imported
later (a re-import, or a second export of newer comments) finds its parent again.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch: SQLite would copy the comments table for a nullable
    # column. Comments imported before this have none; the next import of their export
    # gives it to them (components/wordpress/load.py).
    op.add_column("comments", sa.Column("wordpress_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("wordpress_id")
