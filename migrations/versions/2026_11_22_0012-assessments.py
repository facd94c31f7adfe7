"""ability assessments (二(二), attachment 5): assessment records, the elder's disability-care
allowance tier, and the suspension reason an approved assessment below moderate sets

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 16:00:00+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUSPENSION_REASONS_BEFORE = ("deceased", "moved_out", "no_longer_eligible", "other")
SUSPENSION_REASONS_AFTER = (*SUSPENSION_REASONS_BEFORE, "assessed_below_moderate")
LEVELS = ("intact", "mild", "moderate", "severe", "complete")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _suspension_check(reasons: tuple[str, ...]) -> str:
    return "suspension_reason IS NULL OR " + _in("suspension_reason", reasons)


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("assessor_name", sa.String(length=64), nullable=False),
        sa.Column("assessor_certificate_no", sa.String(length=64), nullable=False),
        sa.Column("assessor_organisation_credit_code", sa.String(length=18), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("visit", sa.String(length=8), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("self_care_total", sa.Integer(), nullable=False),
        sa.Column("basic_mobility_total", sa.Integer(), nullable=False),
        sa.Column("mental_state_total", sa.Integer(), nullable=False),
        sa.Column("perception_social_total", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("base_level", sa.String(length=10), nullable=False),
        sa.Column("final_level", sa.String(length=10), nullable=False),
        sa.Column("adjustments", sa.JSON(), nullable=False),
        sa.Column("coma", sa.Boolean(), nullable=False),
        sa.Column("dementia", sa.Boolean(), nullable=False),
        sa.Column("mental_disorder", sa.Boolean(), nullable=False),
        sa.Column("dementia_or_mental_disorder", sa.Boolean(), nullable=False),
        sa.Column("risk_events_30d", sa.JSON(), nullable=False),
        sa.Column("risk_events_total", sa.Integer(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("submitted_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", app.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _in("status", ("submitted", "approved", "rejected")), name=op.f("ck_assessments_status")
        ),
        sa.CheckConstraint(_in("visit", ("on_site", "home")), name=op.f("ck_assessments_visit")),
        sa.CheckConstraint(_in("base_level", LEVELS), name=op.f("ck_assessments_base_level")),
        sa.CheckConstraint(_in("final_level", LEVELS), name=op.f("ck_assessments_final_level")),
        sa.CheckConstraint(
            "total >= 0 AND total <= 90 AND total = self_care_total + basic_mobility_total"
            " + mental_state_total + perception_social_total",
            name=op.f("ck_assessments_total"),
        ),
        sa.CheckConstraint("valid_until >= assessed_on", name=op.f("ck_assessments_validity")),
        sa.CheckConstraint(
            "(status = 'submitted' AND decided_at IS NULL AND decided_by IS NULL AND decision_note IS NULL)"
            " OR (status = 'approved' AND decided_at IS NOT NULL AND decided_by IS NOT NULL)"
            " OR (status = 'rejected' AND decided_at IS NOT NULL AND decided_by IS NOT NULL"
            " AND decision_note IS NOT NULL)",
            name=op.f("ck_assessments_decided_together"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["providers.id"], name=op.f("fk_assessments_agency_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_assessments_district_code_districts")
        ),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"], name=op.f("fk_assessments_elder_id_elders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    op.create_index(op.f("ix_assessments_elder_id"), "assessments", ["elder_id", "assessed_on"])
    op.create_index(op.f("ix_assessments_district_code"), "assessments", ["district_code", "assessed_on"])
    op.create_index(op.f("ix_assessments_agency_id"), "assessments", ["agency_id", "assessed_on"])
    op.create_index(
        "uq_assessments_submitted_elder_id",
        "assessments",
        ["elder_id"],
        unique=True,
        postgresql_where=sa.text("status = 'submitted'"),
        sqlite_where=sa.text("status = 'submitted'"),
    )
    # SQLite rebuilds the table (batch); PostgreSQL alters it in place.
    with op.batch_alter_table("elders") as batch:
        batch.add_column(sa.Column("disability_allowance_tier", sa.SmallInteger(), nullable=True))
        batch.create_check_constraint(
            "disability_allowance_tier",
            "disability_allowance_tier IS NULL OR disability_allowance_tier IN (200, 400, 600)",
        )
        batch.drop_constraint(op.f("ck_elders_suspension_reason"), type_="check")
        batch.create_check_constraint("suspension_reason", _suspension_check(SUSPENSION_REASONS_AFTER))


def downgrade() -> None:
    # Elders suspended by an assessment keep their suspension under the general reason.
    op.execute(
        "UPDATE elders SET suspension_reason = 'no_longer_eligible'"
        " WHERE suspension_reason = 'assessed_below_moderate'"
    )
    with op.batch_alter_table("elders") as batch:
        batch.drop_constraint(op.f("ck_elders_suspension_reason"), type_="check")
        batch.create_check_constraint("suspension_reason", _suspension_check(SUSPENSION_REASONS_BEFORE))
        batch.drop_constraint(op.f("ck_elders_disability_allowance_tier"), type_="check")
        batch.drop_column("disability_allowance_tier")
    op.drop_index("uq_assessments_submitted_elder_id", table_name="assessments")
    op.drop_index(op.f("ix_assessments_agency_id"), table_name="assessments")
    op.drop_index(op.f("ix_assessments_district_code"), table_name="assessments")
    op.drop_index(op.f("ix_assessments_elder_id"), table_name="assessments")
    op.drop_table("assessments")
