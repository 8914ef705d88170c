"""Conversation: where comments came from, who wrote them, and the log live pages follow.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "comments", sa.Column("ip", sa.String(length=45), nullable=False, server_default="")
    )
    op.add_column(
        "comments", sa.Column("commenter", sa.String(length=64), nullable=False, server_default="")
    )
    op.create_index(op.f("ix_comments_commenter"), "comments", ["commenter"])
    op.create_index("ix_comments_ip_created_at", "comments", ["ip", "created_at"])
    op.create_index("ix_comments_status_created_at", "comments", ["status", "created_at"])

    op.create_table(
        "comment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "received",
                "published",
                "withdrawn",
                name="comment_event_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_comment_events_post_id_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comment_events")),
    )
    op.create_index("ix_comment_events_post_id_id", "comment_events", ["post_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_comment_events_post_id_id", table_name="comment_events")
    op.drop_table("comment_events")
    op.drop_index("ix_comments_status_created_at", table_name="comments")
    op.drop_index("ix_comments_ip_created_at", table_name="comments")
    op.drop_index(op.f("ix_comments_commenter"), table_name="comments")
    op.drop_column("comments", "commenter")
    op.drop_column("comments", "ip")
