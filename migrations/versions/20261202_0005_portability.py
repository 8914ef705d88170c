"""Portability: the front matter keys Quire does not use, kept for export.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from components.models import BODY_SEARCH_DDL

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # add_column, not batch_alter_table: on SQLite a batch rebuild of `posts` would drop
    # the full-text triggers (see BODY_SEARCH_DDL in components/models/search.py).
    op.add_column(
        "posts",
        sa.Column("front_matter", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    # Dropping a column needs a table copy on SQLite, which drops the full-text triggers.
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("front_matter")
    if op.get_bind().dialect.name == "sqlite":
        for statement in BODY_SEARCH_DDL["sqlite"][1:]:
            op.execute(statement)
