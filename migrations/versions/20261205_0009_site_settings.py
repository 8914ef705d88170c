"""The site's settings, kept in the database so that admins can change them.

One row (id 1), made by the first save on /admin/settings; until then the defaults and
the environment stand (components/site.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("footer", sa.String(length=200), nullable=False),
        sa.Column("comments_default", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_settings")),
    )


def downgrade() -> None:
    op.drop_table("site_settings")
