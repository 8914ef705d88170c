"""Comments that came by Webmention (their kind, the page they came from), and the
remote server each delivery is for.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("comment", "mention", "like", "repost")
# The CHECK is added on its own where ALTER TABLE can add one: SQLite cannot, and a
# batch copy of the comments table for it is not worth its time on a large blog.
KIND = sa.Enum(*KINDS, name="comment_kind", native_enum=False, create_constraint=False, length=16)


def upgrade() -> None:
    # Plain ADD COLUMN, no batch: SQLite would copy the table, and the comments' indexes
    # and foreign keys stay as they are.
    op.add_column("comments", sa.Column("kind", KIND, nullable=False, server_default="comment"))
    op.add_column(
        "comments",
        sa.Column("source_url", sa.String(2000), nullable=False, server_default=""),
    )
    op.add_column(
        "deliveries", sa.Column("host", sa.String(255), nullable=False, server_default="")
    )
    op.create_index("ix_deliveries_host_created_at", "deliveries", ["host", "created_at"])
    if op.get_bind().dialect.name != "sqlite":
        listed = ", ".join(f"'{kind}'" for kind in KINDS)
        op.create_check_constraint("comment_kind", "comments", f"kind IN ({listed})")


def downgrade() -> None:
    op.drop_index("ix_deliveries_host_created_at", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("host")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("source_url")
        batch.drop_column("kind")
