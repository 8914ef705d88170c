"""Pages (About, Now, Uses...): posts of another kind, at /<slug>; and the header's menu.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "post",
                    "page",
                    name="post_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                server_default="post",
                nullable=False,
            )
        )
    with op.batch_alter_table("site_settings") as batch:
        batch.add_column(sa.Column("menu", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("site_settings") as batch:
        batch.drop_column("menu")
    with op.batch_alter_table("posts") as batch:
        batch.drop_constraint("ck_posts_post_kind", type_="check")
        batch.drop_column("kind")
