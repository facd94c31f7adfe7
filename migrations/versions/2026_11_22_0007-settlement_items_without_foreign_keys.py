"""settlement items without foreign keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 11:26:24.639115+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The items are copied from redemptions inside the transaction that creates their batch:
    # the checks cannot fail and cost ~8 s on a million-row month.
    with op.batch_alter_table("settlement_items") as batch:
        batch.drop_constraint(op.f("fk_settlement_items_batch_id_settlement_batches"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_settlement_items_redemption_id_redemptions"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("settlement_items") as batch:
        batch.create_foreign_key(
            op.f("fk_settlement_items_redemption_id_redemptions"), "redemptions", ["redemption_id"], ["id"]
        )
        batch.create_foreign_key(
            op.f("fk_settlement_items_batch_id_settlement_batches"),
            "settlement_batches",
            ["batch_id"],
            ["id"],
        )
