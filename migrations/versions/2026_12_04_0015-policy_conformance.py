"""policy conformance (issue 12): the day of death, SERVICE_AFTER_DEATH warnings, the ID-card photo
as evidence, credit codes indexed city-wide, report submissions

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 16:00:00+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Enumerations before and after this migration, frozen here so that it means the same forever.
RULES_BEFORE = (
    "PRICE_ABOVE_REFERENCE",
    "PRICE_JUMP",
    "OVERLAPPING_SERVICE",
    "TOO_MANY_SERVICES_PER_DAY",
    "NIGHT_HOME_SERVICE",
    "FIRST_DAY_DRAIN",
    "REDEEMED_AFTER_SUSPENSION",
)
RULES_AFTER = (*RULES_BEFORE, "SERVICE_AFTER_DEATH")
DETECTED_BY_BEFORE = ("redemption", "nightly")
DETECTED_BY_AFTER = (*DETECTED_BY_BEFORE, "death")
EVIDENCE_KINDS_BEFORE = ("service_record", "receipt", "redemption_proof", "residence_agreement")
EVIDENCE_KINDS_AFTER = (*EVIDENCE_KINDS_BEFORE, "id_photo")
HOME_EVIDENCE_BEFORE = ("service_record", "receipt", "redemption_proof")
HOME_EVIDENCE_AFTER = ("id_photo", *HOME_EVIDENCE_BEFORE)


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_checks(rules: Sequence[str], detected_by: Sequence[str], evidence_kinds: Sequence[str]) -> None:
    # SQLite rebuilds each table (batch); PostgreSQL alters the constraints in place.
    with op.batch_alter_table("anomalies") as batch:
        batch.drop_constraint(op.f("ck_anomalies_rule"), type_="check")
        batch.create_check_constraint("rule", _in("rule", rules))
        batch.drop_constraint(op.f("ck_anomalies_detected_by"), type_="check")
        batch.create_check_constraint("detected_by", _in("detected_by", detected_by))
    with op.batch_alter_table("redemption_evidence") as batch:
        batch.drop_constraint(op.f("ck_redemption_evidence_kind"), type_="check")
        batch.create_check_constraint("kind", _in("kind", evidence_kinds))


def _recompute_home_evidence(required: Sequence[str]) -> None:
    """Evidence completeness of the home/community redemptions no settlement batch holds yet, by
    the required kinds (a batch keeps what its reviewer saw when it was built)."""
    has_all = " AND ".join(
        f"EXISTS (SELECT 1 FROM redemption_evidence e WHERE e.redemption_id = redemptions.id AND e.kind = '{kind}')"
        for kind in required
    )
    op.execute(
        f"UPDATE redemptions SET evidence_complete = ({has_all}) "
        "WHERE category = 'home_community' AND status = 'posted' "
        "AND NOT EXISTS (SELECT 1 FROM settlement_items s WHERE s.redemption_id = redemptions.id)"
    )


def upgrade() -> None:
    with op.batch_alter_table("elders") as batch:
        batch.add_column(sa.Column("died_on", sa.Date(), nullable=True))
    _set_checks(RULES_AFTER, DETECTED_BY_AFTER, EVIDENCE_KINDS_AFTER)
    _recompute_home_evidence(HOME_EVIDENCE_AFTER)
    op.create_index(op.f("ix_providers_credit_code"), "providers", ["credit_code"], unique=False)
    op.create_table(
        "report_submissions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("quarter", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("submitted_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.CheckConstraint(_in("kind", ("quarterly", "annual")), name=op.f("ck_report_submissions_kind")),
        sa.CheckConstraint(
            "(kind = 'quarterly' AND quarter BETWEEN 1 AND 4) OR (kind = 'annual' AND quarter = 0)",
            name=op.f("ck_report_submissions_quarter_of_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_report_submissions_district_code_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_submissions")),
        sa.UniqueConstraint(
            "district_code",
            "kind",
            "year",
            "quarter",
            name=op.f("uq_report_submissions_district_code_kind_year_quarter"),
        ),
    )


def downgrade() -> None:
    op.drop_table("report_submissions")
    op.drop_index(op.f("ix_providers_credit_code"), table_name="providers")
    op.execute("DELETE FROM anomalies WHERE rule = 'SERVICE_AFTER_DEATH' OR detected_by = 'death'")
    op.execute("DELETE FROM redemption_evidence WHERE kind = 'id_photo'")
    _recompute_home_evidence(HOME_EVIDENCE_BEFORE)
    _set_checks(RULES_BEFORE, DETECTED_BY_BEFORE, EVIDENCE_KINDS_BEFORE)
    with op.batch_alter_table("elders") as batch:
        batch.drop_column("died_on")
