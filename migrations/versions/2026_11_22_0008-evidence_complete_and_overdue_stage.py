"""redemptions.evidence_complete, kept when a file is uploaded and copied when a batch is
built; settlement_batches.overdue_stage, so that the daily job flags each late stage once

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 14:05:00+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The kinds each category required when this migration was written (REQUIRED_EVIDENCE in
# app/evidence/models.py); frozen here so that the migration means the same thing forever.
REQUIRED_AT_0008 = {
    "institution": ("residence_agreement", "service_record", "redemption_proof"),
    "home_community": ("service_record", "receipt", "redemption_proof"),
}


def upgrade() -> None:
    op.add_column(
        "redemptions",
        sa.Column("evidence_complete", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    complete_by_category = " OR ".join(
        f"""(category = '{category}' AND (
                SELECT count(DISTINCT kind) FROM redemption_evidence
                WHERE redemption_evidence.redemption_id = redemptions.id
                  AND kind IN ({", ".join(f"'{kind}'" for kind in kinds)})
            ) = {len(kinds)})"""
        for category, kinds in REQUIRED_AT_0008.items()
    )
    categories = ", ".join(f"'{category}'" for category in REQUIRED_AT_0008)
    op.execute(
        f"UPDATE redemptions SET evidence_complete = true "
        f"WHERE category NOT IN ({categories}) OR {complete_by_category}"
    )

    op.add_column("settlement_batches", sa.Column("overdue_stage", sa.String(length=16), nullable=True))
    # A batch flagged before this revision was flagged in the stage it was in then; the stage is
    # not recorded, so take its current one (at worst a later stage goes unflagged once).
    op.execute("UPDATE settlement_batches SET overdue_stage = status WHERE overdue_flagged_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("settlement_batches") as batch:
        batch.drop_column("overdue_stage")
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_column("evidence_complete")
