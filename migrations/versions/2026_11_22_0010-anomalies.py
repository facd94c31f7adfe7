"""anomalies: warnings raised in-line and by the nightly scan (四(二) 异常交易预警)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 14:30:00+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule codes when this migration was written (app/rules/anomalies.RULE_CODES), frozen here so
# that the migration means the same thing forever; a new rule widens the CHECK in a new one.
RULES_AT_0010 = (
    "PRICE_ABOVE_REFERENCE",
    "PRICE_JUMP",
    "OVERLAPPING_SERVICE",
    "TOO_MANY_SERVICES_PER_DAY",
    "NIGHT_HOME_SERVICE",
    "FIRST_DAY_DRAIN",
    "REDEEMED_AFTER_SUSPENSION",
)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "anomalies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("subject_key", sa.String(length=100), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=True),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("elder_id", sa.Uuid(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("detected_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("detected_by", sa.String(length=10), nullable=False),
        sa.Column("resolved_at", app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("rule", RULES_AT_0010), name=op.f("ck_anomalies_rule")),
        sa.CheckConstraint(
            _in("status", ("open", "confirmed", "dismissed")), name=op.f("ck_anomalies_status")
        ),
        sa.CheckConstraint(
            _in("detected_by", ("redemption", "nightly")), name=op.f("ck_anomalies_detected_by")
        ),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_at IS NULL)", name=op.f("ck_anomalies_resolved_when_closed")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_anomalies_district_code_districts")
        ),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"], name=op.f("fk_anomalies_elder_id_elders")),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_anomalies_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"], ["redemptions.id"], name=op.f("fk_anomalies_redemption_id_redemptions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anomalies")),
        sa.UniqueConstraint("rule", "subject_key", name=op.f("uq_anomalies_rule_subject_key")),
    )
    op.create_index(
        op.f("ix_anomalies_district_code"),
        "anomalies",
        ["district_code", "month", "status"],
        unique=False,
    )
    op.create_index(op.f("ix_anomalies_provider_id"), "anomalies", ["provider_id"], unique=False)
    op.create_index(op.f("ix_anomalies_elder_id"), "anomalies", ["elder_id"], unique=False)
    op.create_index(op.f("ix_anomalies_redemption_id"), "anomalies", ["redemption_id"], unique=False)


def downgrade() -> None:
    op.drop_table("anomalies")
