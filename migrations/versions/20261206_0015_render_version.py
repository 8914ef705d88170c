"""Which rendering made each post's HTML, so that a new one can render old posts again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        # 0: rendered before versions were kept, so rendered again by the next `quire render`.
        batch.add_column(
            sa.Column("render_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("render_version")
