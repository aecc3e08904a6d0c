"""Initial schema: every table of DESIGN.md §5, plus the audit trail's append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("audit_events", "audit_links")


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _enum(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.String(32), nullable=False)


def _connection(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=f"fk_{table}_connection_id_connections"
        ),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_connections"),
        sa.UniqueConstraint("name", name="uq_connections_name"),
    )
    op.create_table(
        "secrets",
        *_connection("secrets"),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.UniqueConstraint("connection_id", "name", name="uq_secrets_connection_id_name"),
    )
    op.create_table(
        "cursors",
        *_connection("cursors"),
        sa.Column("stream", sa.String(64), nullable=False),
        _at("watermark"),
        _at("updated_at"),
        sa.UniqueConstraint("connection_id", "stream", name="uq_cursors_connection_id_stream"),
    )
    op.create_table(
        "raw_records",
        *_connection("raw_records"),
        _enum("kind"),
        sa.Column("amazon_id", sa.String(128), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _at("first_seen"),
        _at("last_seen"),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=True),
        _at("changed_at", nullable=True),
        sa.Column("times_changed", sa.Integer(), nullable=False),
        sa.UniqueConstraint(
            "connection_id", "kind", "amazon_id", name="uq_raw_records_connection_id_kind_amazon_id"
        ),
    )
    op.create_index("ix_raw_records_amazon_id", "raw_records", ["amazon_id"])
    op.create_table(
        "documents",
        *_connection("documents"),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        _enum("kind"),
        sa.Column("amazon_source_id", sa.String(128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _enum("state"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("oracle_id", sa.String(128), nullable=True),
        sa.Column("oracle_number", sa.String(128), nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.UniqueConstraint("idempotency_key", name="uq_documents_idempotency_key"),
    )
    op.create_index("ix_documents_amazon_source_id", "documents", ["amazon_source_id"])
    op.create_index("ix_documents_state", "documents", ["state"])
    op.create_table(
        "bindings",
        *_connection("bindings"),
        _enum("kind"),
        sa.Column("amazon_id", sa.String(128), nullable=False),
        sa.Column("oracle_id", sa.String(128), nullable=False),
        sa.Column("oracle_number", sa.String(128), nullable=True),
        _at("created_at"),
        sa.UniqueConstraint(
            "connection_id", "kind", "amazon_id", name="uq_bindings_connection_id_kind_amazon_id"
        ),
        sa.UniqueConstraint(
            "connection_id", "kind", "oracle_id", name="uq_bindings_connection_id_kind_oracle_id"
        ),
    )
    op.create_index("ix_bindings_oracle_id", "bindings", ["oracle_id"])
    op.create_table(
        "review_items",
        *_connection("review_items"),
        _enum("kind"),
        sa.Column("subject_amazon_id", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _enum("status"),
        sa.Column("resolution", sa.Text(), nullable=True),
        _at("created_at"),
        _at("resolved_at", nullable=True),
    )
    op.create_index("ix_review_items_subject_amazon_id", "review_items", ["subject_amazon_id"])
    op.create_index(
        "uq_review_items_open_subject",
        "review_items",
        ["connection_id", "kind", "subject_amazon_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "audit_events",
        *_connection("audit_events"),
        _at("at"),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("amazon_request_id", sa.String(128), nullable=True),
        sa.Column("oracle_request_id", sa.String(128), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_table(
        "audit_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["audit_events.id"], name="fk_audit_links_event_id_audit_events"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_links"),
    )
    op.create_index("ix_audit_links_event_id", "audit_links", ["event_id"])
    op.create_index("ix_audit_links_value", "audit_links", ["value"])
    op.create_table(
        "runs",
        *_connection("runs"),
        sa.Column("stream", sa.String(64), nullable=False),
        _at("started_at"),
        _at("finished_at", nullable=True),
        _enum("status"),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_runs_connection_id", "runs", ["connection_id"])
    op.create_table(
        "leases",
        *_connection("leases"),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(128), nullable=True),
        _at("expires_at", nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        _at("updated_at"),
        sa.UniqueConstraint("connection_id", "stream", name="uq_leases_connection_id_stream"),
    )
    _protect_audit_trail()


def _protect_audit_trail() -> None:
    """The database itself refuses UPDATE and DELETE on the audit trail, whoever connects."""
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                "CREATE OR REPLACE FUNCTION ml_connector_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ml_connector_append_only()"
            )


def downgrade() -> None:
    for table in (
        "leases",
        "runs",
        "audit_links",
        "audit_events",
        "review_items",
        "bindings",
        "documents",
        "raw_records",
        "cursors",
        "secrets",
        "connections",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ml_connector_append_only()")
