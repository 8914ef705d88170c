"""Private preview links for drafts: a hash of each link's token, its post, its expiry.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "preview_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name="fk_preview_links_post_id_posts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_preview_links"),
        sa.UniqueConstraint("token_hash", name="uq_preview_links_token_hash"),
    )
    op.create_index(
        "ix_preview_links_post_id_created_at", "preview_links", ["post_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_preview_links_post_id_created_at", table_name="preview_links")
    op.drop_table("preview_links")
