"""The site's logo and icon, uploaded through the media library.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 19:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("site_settings") as batch:
        for name in ("logo_id", "favicon_id"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
            batch.create_foreign_key(
                op.f(f"fk_site_settings_{name}_media"), "media", [name], ["id"], ondelete="SET NULL"
            )


def downgrade() -> None:
    with op.batch_alter_table("site_settings") as batch:
        for name in ("logo_id", "favicon_id"):
            batch.drop_constraint(op.f(f"fk_site_settings_{name}_media"), type_="foreignkey")
            batch.drop_column(name)
