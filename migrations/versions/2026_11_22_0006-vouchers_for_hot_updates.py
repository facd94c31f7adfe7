"""vouchers ready for hot updates: index the month alone (not the status), leave page space
(fillfactor 85) so balance and status updates stay on their page, and drop the foreign key of
the copied district_code (the elder's is the one that counts)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:46:22.669752+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_vouchers_month"), table_name="vouchers")
    op.create_index(op.f("ix_vouchers_month"), "vouchers", ["month"], unique=False)
    with op.batch_alter_table("vouchers") as batch:
        batch.drop_constraint(op.f("fk_vouchers_district_code_districts"), type_="foreignkey")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE vouchers SET (fillfactor = 85)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE vouchers RESET (fillfactor)")
    with op.batch_alter_table("vouchers") as batch:
        batch.create_foreign_key(
            op.f("fk_vouchers_district_code_districts"), "districts", ["district_code"], ["code"]
        )
    op.drop_index(op.f("ix_vouchers_month"), table_name="vouchers")
    op.create_index(op.f("ix_vouchers_month"), "vouchers", ["month", "status"], unique=False)
