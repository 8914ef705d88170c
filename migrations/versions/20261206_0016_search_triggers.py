"""SQLite's full-text triggers again: migration 0013's copy of the posts table dropped them,
so from then on new and edited posts went unindexed (and deleted ones stayed). They are
made again, and the index rebuilt from the posts as they are now. PostgreSQL's index is a
generated column, which no copy loses: nothing to do there.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 03:40:00
"""

from collections.abc import Sequence

from alembic import op

from components.models import BODY_SEARCH_DDL

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("posts_fts_insert", "posts_fts_delete", "posts_fts_update")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in BODY_SEARCH_DDL["sqlite"][1:]:
        op.execute(statement)
    op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")


def downgrade() -> None:
    # Before this migration the triggers were missing; leaving them does no harm.
    pass
