"""The store remembers which master key it belongs to; a run remembers when it was last seen.

``key_checks`` holds one row: a constant sealed under the master key, with that key's id, so a
command about to store a secret can tell a wrong key before it writes anything. ``runs`` gains
``last_seen_at`` (moved on at every heartbeat) so that a cycle that died can be closed as
aborted with the time it was last alive.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "key_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_key_checks"),
    )
    op.add_column("runs", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("last_seen_at")
    op.drop_table("key_checks")
