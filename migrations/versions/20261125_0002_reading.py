"""Reading: contents, tag names for search, redirects, full-text index, content clock.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:59:28.979674
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from components import markdown
from components.models import BODY_SEARCH_DDL

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "redirects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_redirects_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redirects")),
        sa.UniqueConstraint("path", name=op.f("uq_redirects_path")),
    )
    with op.batch_alter_table("redirects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_redirects_post_id"), ["post_id"], unique=False)

    op.create_table(
        "site_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_state")),
    )

    # On SQLite this copies the posts table, so the search index is made after it.
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("toc", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("tag_names", sa.Text(), nullable=False, server_default=""))
        batch_op.create_index("ix_posts_published_at_id", ["published_at", "id"], unique=False)
        batch_op.drop_index("ix_posts_status_published_at")

    _fill_new_columns()
    dialect = op.get_bind().dialect.name
    for statement in BODY_SEARCH_DDL[dialect]:
        op.execute(statement)
    if dialect == "sqlite":
        op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")


def _fill_new_columns() -> None:
    """Give existing posts their table of contents and their tag names."""
    bind = op.get_bind()
    posts = bind.execute(sa.text("SELECT id, body FROM posts")).all()
    for post_id, body in posts:
        names = bind.scalars(
            sa.text(
                "SELECT tags.name FROM tags JOIN post_tags ON post_tags.tag_id = tags.id "
                "WHERE post_tags.post_id = :id ORDER BY tags.name"
            ),
            {"id": post_id},
        ).all()
        bind.execute(
            sa.text("UPDATE posts SET toc = :toc, tag_names = :names WHERE id = :id"),
            {"toc": json.dumps(markdown.render(body).toc), "names": " ".join(names), "id": post_id},
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS posts_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_posts_search_vector")
        op.execute("ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")

    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_published_at_id")
        batch_op.create_index(
            "ix_posts_status_published_at", ["status", "published_at"], unique=False
        )
        batch_op.drop_column("tag_names")
        batch_op.drop_column("toc")

    with op.batch_alter_table("redirects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_redirects_post_id"))

    op.drop_table("redirects")
    op.drop_table("site_state")
