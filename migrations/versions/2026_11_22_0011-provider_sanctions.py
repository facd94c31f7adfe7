"""provider sanctions (四(三)): blacklist, rectification orders

The blacklist (失信联合惩戒) by unified social credit code, rectification orders (限期整改) and the
serious audit findings each order answers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 14:30:00+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_blacklist",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("listed_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("listed_by", sa.String(length=64), nullable=False),
        sa.Column("lifted_at", app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=64), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(lifted_at IS NULL AND lifted_by IS NULL AND lift_reason IS NULL)"
            " OR (lifted_at IS NOT NULL AND lifted_by IS NOT NULL AND lift_reason IS NOT NULL)",
            name=op.f("ck_provider_blacklist_lifted_together"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_provider_blacklist_district_code_districts")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_provider_blacklist_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_blacklist")),
    )
    op.create_index(op.f("ix_provider_blacklist_credit_code"), "provider_blacklist", ["credit_code"])
    op.create_index(op.f("ix_provider_blacklist_provider_id"), "provider_blacklist", ["provider_id"])
    op.create_index(
        op.f("ix_provider_blacklist_district_code"), "provider_blacklist", ["district_code", "listed_at"]
    )
    op.create_index(
        "uq_provider_blacklist_active_credit_code",
        "provider_blacklist",
        ["credit_code"],
        unique=True,
        postgresql_where=sa.text("lifted_at IS NULL"),
        sqlite_where=sa.text("lifted_at IS NULL"),
    )

    op.create_table(
        "rectification_orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("opened_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("trigger_finding_id", sa.Uuid(), nullable=True),
        sa.Column("closed_at", app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("escalation_action", sa.String(length=10), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'rectified', 'escalated')", name=op.f("ck_rectification_orders_status")
        ),
        sa.CheckConstraint("source IN ('manual', 'automatic')", name=op.f("ck_rectification_orders_source")),
        sa.CheckConstraint(
            "escalation_action IN ('suspend', 'disqualify')",
            name=op.f("ck_rectification_orders_escalation_action"),
        ),
        sa.CheckConstraint(
            "working_days >= 1 AND due_on > opened_on", name=op.f("ck_rectification_orders_due")
        ),
        sa.CheckConstraint(
            "(status = 'open' AND closed_at IS NULL AND closed_by IS NULL AND close_note IS NULL)"
            " OR (status <> 'open' AND closed_at IS NOT NULL AND closed_by IS NOT NULL"
            " AND close_note IS NOT NULL)",
            name=op.f("ck_rectification_orders_closed_together"),
        ),
        sa.CheckConstraint(
            "(status = 'escalated') = (escalation_action IS NOT NULL)",
            name=op.f("ck_rectification_orders_escalated_action"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_rectification_orders_district_code_districts"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_rectification_orders_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["trigger_finding_id"],
            ["audit_findings.id"],
            name=op.f("fk_rectification_orders_trigger_finding_id_audit_findings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_orders")),
    )
    op.create_index(
        op.f("ix_rectification_orders_district_code"), "rectification_orders", ["district_code", "opened_at"]
    )
    op.create_index(
        op.f("ix_rectification_orders_provider_id"), "rectification_orders", ["provider_id", "opened_at"]
    )
    op.create_index(
        "uq_rectification_orders_open_provider_id",
        "rectification_orders",
        ["provider_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "rectification_order_findings",
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["audit_findings.id"],
            name=op.f("fk_rectification_order_findings_finding_id_audit_findings"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["rectification_orders.id"],
            name=op.f("fk_rectification_order_findings_order_id_rectification_orders"),
        ),
        sa.PrimaryKeyConstraint("finding_id", name=op.f("pk_rectification_order_findings")),
    )
    op.create_index(
        op.f("ix_rectification_order_findings_order_id"), "rectification_order_findings", ["order_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_rectification_order_findings_order_id"), table_name="rectification_order_findings")
    op.drop_table("rectification_order_findings")
    op.drop_index("uq_rectification_orders_open_provider_id", table_name="rectification_orders")
    op.drop_index(op.f("ix_rectification_orders_provider_id"), table_name="rectification_orders")
    op.drop_index(op.f("ix_rectification_orders_district_code"), table_name="rectification_orders")
    op.drop_table("rectification_orders")
    op.drop_index("uq_provider_blacklist_active_credit_code", table_name="provider_blacklist")
    op.drop_index(op.f("ix_provider_blacklist_district_code"), table_name="provider_blacklist")
    op.drop_index(op.f("ix_provider_blacklist_provider_id"), table_name="provider_blacklist")
    op.drop_index(op.f("ix_provider_blacklist_credit_code"), table_name="provider_blacklist")
    op.drop_table("provider_blacklist")
