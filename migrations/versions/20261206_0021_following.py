"""ActivityPub: the accounts on other servers that this site's actors follow.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ap_following",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=False),
        sa.Column("follow_id", sa.String(2000), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "asked",
                "accepted",
                "refused",
                name="following_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("answered_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["ap_actors.id"],
            name="fk_ap_following_actor_id_ap_actors",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remote_id"],
            ["ap_remote_actors.id"],
            name="fk_ap_following_remote_id_ap_remote_actors",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ap_following"),
        sa.UniqueConstraint("actor_id", "remote_id", name="uq_ap_following_actor_id"),
        sa.UniqueConstraint("follow_id", name="uq_ap_following_follow_id"),
    )
    op.create_index("ix_ap_following_remote_id", "ap_following", ["remote_id"])


def downgrade() -> None:
    op.drop_index("ix_ap_following_remote_id", table_name="ap_following")
    op.drop_table("ap_following")
