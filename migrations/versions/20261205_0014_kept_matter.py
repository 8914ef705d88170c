"""An imported post's front matter as its file wrote it, and a print of the post as it
came in, so that an export of a post not edited since writes its file back unchanged.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("source_head", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source_print", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("source_print")
        batch.drop_column("source_head")
