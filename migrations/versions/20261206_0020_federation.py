"""ActivityPub: this site's actors and their keys, remote actors, followers, signed
requests already taken; the avatar of a reply from the fediverse; the followers setting.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ap_actors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_ap_actors_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ap_actors"),
        sa.UniqueConstraint("user_id", name="uq_ap_actors_user_id"),
        sa.UniqueConstraint("username", name="uq_ap_actors_username"),
    )
    op.create_table(
        "ap_remote_actors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(2000), nullable=False),
        sa.Column("key_id", sa.String(2000), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("inbox", sa.String(2000), nullable=False),
        sa.Column("shared_inbox", sa.String(2000), nullable=False),
        sa.Column("handle", sa.String(300), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("icon", sa.String(2000), nullable=False),
        sa.Column("fetched_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ap_remote_actors"),
        sa.UniqueConstraint("uri", name="uq_ap_remote_actors_uri"),
    )
    op.create_table(
        "ap_followers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.Integer(), nullable=False),
        sa.Column("follow_id", sa.String(2000), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "accepted",
                name="follower_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("accepted_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["ap_actors.id"],
            name="fk_ap_followers_actor_id_ap_actors",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["remote_id"],
            ["ap_remote_actors.id"],
            name="fk_ap_followers_remote_id_ap_remote_actors",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ap_followers"),
        sa.UniqueConstraint("actor_id", "remote_id", name="uq_ap_followers_actor_id"),
    )
    op.create_index("ix_ap_followers_remote_id", "ap_followers", ["remote_id"])
    op.create_table(
        "ap_seen",
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("signature", name="pk_ap_seen"),
    )
    op.create_index("ix_ap_seen_host_at", "ap_seen", ["host", "at"])
    # Plain ADD COLUMN, no batch: SQLite would copy the table.
    op.add_column(
        "comments",
        sa.Column("author_avatar", sa.String(500), nullable=False, server_default=""),
    )
    op.add_column(
        "site_settings",
        sa.Column("followers", sa.String(16), nullable=False, server_default="auto"),
    )


def downgrade() -> None:
    with op.batch_alter_table("site_settings") as batch:
        batch.drop_column("followers")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("author_avatar")
    op.drop_index("ix_ap_seen_host_at", table_name="ap_seen")
    op.drop_table("ap_seen")
    op.drop_index("ix_ap_followers_remote_id", table_name="ap_followers")
    op.drop_table("ap_followers")
    op.drop_table("ap_remote_actors")
    op.drop_table("ap_actors")
