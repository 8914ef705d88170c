"""Writing: sign-in sessions, two-factor codes, login throttling, revisions, image variants.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 09:00:00

Columns are added to `posts` with plain ALTER TABLE, never a batch copy: on SQLite a
copy would drop the full-text triggers of migration 0002.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from components.models import BODY_SEARCH_DDL

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC")
    )
    op.add_column("users", sa.Column("totp_secret", sa.String(length=64), nullable=True))
    op.add_column("users", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.add_column("posts", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column(
        "posts", sa.Column("last_editor", sa.String(length=64), nullable=False, server_default="")
    )
    op.create_index(op.f("ix_posts_last_editor"), "posts", ["last_editor"])

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        _fk("auth_sessions", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_sessions_token_hash")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"])

    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _fk("recovery_codes", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    op.create_index(op.f("ix_recovery_codes_user_id"), "recovery_codes", ["user_id"])

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_ip"), "login_failures", ["ip"])
    op.create_index(op.f("ix_login_failures_email"), "login_failures", ["email"])
    op.create_index(op.f("ix_login_failures_at"), "login_failures", ["at"])

    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "save",
                "autosave",
                "restore",
                name="revision_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("revisions", "post_id", "posts", "CASCADE"),
        _fk("revisions", "author_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
    )
    op.create_index(op.f("ix_revisions_author_id"), "revisions", ["author_id"])
    op.create_index("ix_revisions_post_id_id", "revisions", ["post_id", "id"])

    op.create_table(
        "media_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        _fk("media_variants", "media_id", "media", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_variants")),
        sa.UniqueConstraint("sha256", name=op.f("uq_media_variants_sha256")),
    )
    op.create_index(op.f("ix_media_variants_media_id"), "media_variants", ["media_id"])


def downgrade() -> None:
    op.drop_table("media_variants")
    op.drop_table("revisions")
    op.drop_table("login_failures")
    op.drop_table("recovery_codes")
    op.drop_table("auth_sessions")
    # Dropping columns needs a table copy on SQLite; a downgrade may pay that price.
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_index("ix_posts_last_editor")
        batch_op.drop_column("last_editor")
        batch_op.drop_column("version")
    if op.get_bind().dialect.name == "sqlite":
        # The copy dropped the full-text triggers; the index table itself survived.
        for statement in BODY_SEARCH_DDL["sqlite"][1:]:
            op.execute(statement)
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
        batch_op.drop_column("time_zone")
