"""Raw records remember the settlement group they were listed for.

A 2024-06-19 transaction names its group in `relatedIdentifiers`, but that list is optional in
Amazon's model: the listing it came from (by FINANCIAL_EVENT_GROUP_ID) is the fact that cannot be
missing, so it is kept beside the payload.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("raw_records", sa.Column("parent_amazon_id", sa.String(128), nullable=True))
    op.create_index(
        "ix_raw_records_parent", "raw_records", ["connection_id", "kind", "parent_amazon_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_raw_records_parent", table_name="raw_records")
    with op.batch_alter_table("raw_records") as batch:
        batch.drop_column("parent_amazon_id")
