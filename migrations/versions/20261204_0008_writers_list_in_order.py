"""The writers' list in order: the posts most recently changed, read off an index.

The admin list shows the 200 posts changed last (`ORDER BY updated_at DESC, id DESC`).
With nothing indexed on that order, both databases read every post and sorted them: at
100,000 posts, 0.9 to 2.8 s a page on SQLite and 90 ms on PostgreSQL. With the order in
an index, they read the newest entries and stop after 200.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_posts_updated_at_id", "posts", ["updated_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_posts_updated_at_id", table_name="posts")
