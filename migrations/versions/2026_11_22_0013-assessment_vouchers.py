"""assessment vouchers: voucher kind 'assessment' and the assessment it pays for

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 14:40:00+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vouchers") as batch:
        batch.add_column(sa.Column("assessment_id", sa.Uuid(), nullable=True))
        batch.drop_constraint(op.f("ck_vouchers_kind"), type_="check")
        batch.create_check_constraint("kind", "kind IN ('monthly', 'assessment')")


def downgrade() -> None:
    # Assessment vouchers, if any, make the narrowed CHECK fail: the journal refers to them, so
    # a downgrade past this revision is refused rather than deleting money records.
    with op.batch_alter_table("vouchers") as batch:
        batch.drop_constraint(op.f("ck_vouchers_kind"), type_="check")
        batch.create_check_constraint("kind", "kind IN ('monthly')")
        batch.drop_column("assessment_id")
