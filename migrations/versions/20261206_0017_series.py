"""Series: posts grouped as the parts of one story ("Part 2 of 5").

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from components.models import BODY_SEARCH_DDL

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("posts_fts_insert", "posts_fts_delete", "posts_fts_update")


def upgrade() -> None:
    op.create_table(
        "series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_series"),
        sa.UniqueConstraint("slug", name="uq_series_slug"),
    )
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_posts_series_id_series", "series", ["series_id"], ["id"], ondelete="SET NULL"
        )
    _restore_search_triggers()
    op.create_index("ix_posts_series_id", "posts", ["series_id"])


def downgrade() -> None:
    op.drop_index("ix_posts_series_id", table_name="posts")
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("series_id")
    op.drop_table("series")
    _restore_search_triggers()


def _restore_search_triggers() -> None:
    """On SQLite a batch copies the posts table, and the full-text index's triggers go
    with the old one (as in 0013, which 0016 mended): they are made again. The copy keeps
    every row's id, so the index itself still matches."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in BODY_SEARCH_DDL["sqlite"][1:]:
        op.execute(statement)
