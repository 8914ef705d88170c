"""Authors on the page: each writer's address (slug), their profile, the default author.

Existing accounts get a slug made from their name (the email's local part when the name
has no letters), numbered when two would be the same.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from components.text import slugify

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _slugs(rows: Sequence[tuple[int, str, str]]) -> dict[int, str]:
    taken: set[str] = set()
    chosen: dict[int, str] = {}
    for user_id, name, email in rows:
        stem = slugify(name, 90) or slugify(email.split("@")[0], 90) or "author"
        slug, number = stem, 1
        while slug in taken:
            number += 1
            slug = f"{stem}-{number}"
        taken.add(slug)
        chosen[user_id] = slug
    return chosen


def upgrade() -> None:
    op.add_column("users", sa.Column("slug", sa.String(length=100), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.Integer),
        sa.column("name"),
        sa.column("email"),
        sa.column("slug"),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(users.c.id, users.c.name, users.c.email).order_by(users.c.id)
    )
    for user_id, slug in _slugs([tuple(row) for row in rows]).items():
        connection.execute(users.update().where(users.c.id == user_id).values(slug=slug))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=100), nullable=False)
        batch.create_unique_constraint(op.f("uq_users_slug"), ["slug"])

    op.create_table(
        "author_profiles",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bio", sa.String(length=500), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("avatar_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["avatar_id"],
            ["media.id"],
            name=op.f("fk_author_profiles_avatar_id_media"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_author_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_author_profiles")),
    )
    with op.batch_alter_table("site_settings") as batch:
        batch.add_column(sa.Column("default_author_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_site_settings_default_author_id_users"),
            "users",
            ["default_author_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("site_settings") as batch:
        batch.drop_constraint(op.f("fk_site_settings_default_author_id_users"), type_="foreignkey")
        batch.drop_column("default_author_id")
    op.drop_table("author_profiles")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_slug"), type_="unique")
        batch.drop_column("slug")
