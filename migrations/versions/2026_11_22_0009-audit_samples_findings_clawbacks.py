"""audit samples (with their stored population), findings and the redemptions they name;
clawbacks: journal kind 'clawback' and account 'program_clawback', and the clawback netted from
each settlement line and batch

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 14:30:00+08:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOURNAL_KINDS_BEFORE = ("issue", "redeem", "reverse", "expire", "revoke", "reject", "pay")
JOURNAL_KINDS_AFTER = (*JOURNAL_KINDS_BEFORE, "clawback")
JOURNAL_ACCOUNTS_BEFORE = (
    "voucher",
    "provider_payable",
    "program_issued",
    "program_released",
    "program_rejected",
    "program_paid",
)
JOURNAL_ACCOUNTS_AFTER = (*JOURNAL_ACCOUNTS_BEFORE, "program_clawback")


def upgrade() -> None:
    op.create_table(
        "audit_samples",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("population_sha256", sa.String(length=64), nullable=False),
        sa.Column("drawn_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("drawn_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("kind IN ('redemption', 'assessment')", name=op.f("ck_audit_samples_kind")),
        sa.CheckConstraint(
            "sample_size >= 0 AND sample_size <= population", name=op.f("ck_audit_samples_size")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_audit_samples_district_code_districts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_samples")),
        sa.UniqueConstraint(
            "district_code", "month", "kind", name=op.f("uq_audit_samples_district_code_month_kind")
        ),
    )
    op.create_table(
        "audit_sample_units",
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("stratum", sa.String(length=64), nullable=False),
        sa.Column("drawn", sa.Boolean(), nullable=False),
        sa.Column("draw_position", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["audit_samples.id"], name=op.f("fk_audit_sample_units_sample_id_audit_samples")
        ),
        sa.PrimaryKeyConstraint("sample_id", "elder_id", name=op.f("pk_audit_sample_units")),
    )
    op.create_index(
        op.f("ix_audit_sample_units_sample_id"), "audit_sample_units", ["sample_id", "drawn"], unique=False
    )
    op.create_table(
        "audit_findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sample_id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("excluded_fen", sa.BigInteger(), nullable=False),
        sa.Column("clawback_fen", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('genuine', 'fake_service', 'poor_quality', 'low_satisfaction')",
            name=op.f("ck_audit_findings_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["districts.code"], name=op.f("fk_audit_findings_district_code_districts")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_audit_findings_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["audit_samples.id"], name=op.f("fk_audit_findings_sample_id_audit_samples")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_findings")),
    )
    op.create_index(
        op.f("ix_audit_findings_district_code"), "audit_findings", ["district_code", "month"], unique=False
    )
    op.create_index(op.f("ix_audit_findings_provider_id"), "audit_findings", ["provider_id"], unique=False)
    op.create_index(op.f("ix_audit_findings_sample_id"), "audit_findings", ["sample_id"], unique=False)
    op.create_table(
        "audit_finding_redemptions",
        sa.Column("finding_id", sa.Uuid(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("district_code", sa.String(length=6), nullable=False),
        sa.Column("deduction_fen", sa.BigInteger(), nullable=False),
        sa.Column("effect", sa.String(length=10), nullable=False),
        sa.CheckConstraint(
            "effect IN ('none', 'excluded', 'clawback')", name=op.f("ck_audit_finding_redemptions_effect")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"],
            ["districts.code"],
            name=op.f("fk_audit_finding_redemptions_district_code_districts"),
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["audit_findings.id"],
            name=op.f("fk_audit_finding_redemptions_finding_id_audit_findings"),
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_audit_finding_redemptions_provider_id_providers")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_audit_finding_redemptions_redemption_id_redemptions"),
        ),
        sa.PrimaryKeyConstraint("finding_id", "redemption_id", name=op.f("pk_audit_finding_redemptions")),
    )
    op.create_index(
        "uq_audit_finding_redemptions_acted_on",
        "audit_finding_redemptions",
        ["redemption_id"],
        unique=True,
        postgresql_where=sa.text("effect <> 'none'"),
        sqlite_where=sa.text("effect <> 'none'"),
    )
    with op.batch_alter_table("settlement_lines") as batch:
        batch.add_column(
            sa.Column("clawback_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.create_check_constraint(
            "clawback_in_range", "clawback_fen >= 0 AND clawback_fen <= payable_fen"
        )
    with op.batch_alter_table("settlement_batches") as batch:
        batch.add_column(
            sa.Column("clawback_fen", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
        )
        batch.create_check_constraint(
            "clawback_in_range", "clawback_fen >= 0 AND clawback_fen <= payable_fen"
        )
    _set_journal_checks(JOURNAL_KINDS_AFTER, JOURNAL_ACCOUNTS_AFTER)


def downgrade() -> None:
    _set_journal_checks(JOURNAL_KINDS_BEFORE, JOURNAL_ACCOUNTS_BEFORE)
    with op.batch_alter_table("settlement_batches") as batch:
        batch.drop_constraint(op.f("ck_settlement_batches_clawback_in_range"), type_="check")
        batch.drop_column("clawback_fen")
    with op.batch_alter_table("settlement_lines") as batch:
        batch.drop_constraint(op.f("ck_settlement_lines_clawback_in_range"), type_="check")
        batch.drop_column("clawback_fen")
    op.drop_index("uq_audit_finding_redemptions_acted_on", table_name="audit_finding_redemptions")
    op.drop_table("audit_finding_redemptions")
    op.drop_index(op.f("ix_audit_findings_sample_id"), table_name="audit_findings")
    op.drop_index(op.f("ix_audit_findings_provider_id"), table_name="audit_findings")
    op.drop_index(op.f("ix_audit_findings_district_code"), table_name="audit_findings")
    op.drop_table("audit_findings")
    op.drop_index(op.f("ix_audit_sample_units_sample_id"), table_name="audit_sample_units")
    op.drop_table("audit_sample_units")
    op.drop_table("audit_samples")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _set_journal_checks(kinds: tuple[str, ...], accounts: tuple[str, ...]) -> None:
    """Widen (or narrow) the enum CHECKs of the journal, as 0004 did. SQLite cannot alter a
    constraint, so there the two tables are rebuilt from the definitions below (frozen here,
    not taken from the models) and the append-only trigger is put back."""
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(op.f("ck_journal_entries_kind"), "journal_entries", type_="check")
        op.create_check_constraint(op.f("ck_journal_entries_kind"), "journal_entries", _in("kind", kinds))
        op.drop_constraint(op.f("ck_journal_lines_account"), "journal_lines", type_="check")
        op.create_check_constraint(
            op.f("ck_journal_lines_account"), "journal_lines", _in("account", accounts)
        )
        return
    metadata = sa.MetaData()
    entries = sa.Table(
        "journal_entries",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "district_code",
            sa.String(6),
            sa.ForeignKey("districts.code", name="fk_journal_entries_district_code_districts"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=True),
        sa.Column("job_run_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", app.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.CheckConstraint(_in("kind", kinds), name="ck_journal_entries_kind"),
        sa.Index("ix_journal_entries_district_code", "district_code", "month"),
        sa.Index("ix_journal_entries_redemption_id", "redemption_id"),
    )
    lines = sa.Table(
        "journal_lines",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "entry_id",
            sa.Integer(),
            sa.ForeignKey("journal_entries.id", name="fk_journal_lines_entry_id_journal_entries"),
            nullable=False,
        ),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("account", sa.String(20), nullable=False),
        sa.Column("voucher_id", sa.Uuid(), nullable=True),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(_in("account", accounts), name="ck_journal_lines_account"),
        sa.CheckConstraint("amount_fen <> 0", name="ck_journal_lines_non_zero"),
        sa.CheckConstraint(
            "(account = 'voucher') = (voucher_id IS NOT NULL)", name="ck_journal_lines_voucher_account"
        ),
        sa.CheckConstraint(
            "(account = 'provider_payable') = (provider_id IS NOT NULL)",
            name="ck_journal_lines_provider_account",
        ),
        sa.Index("ix_journal_lines_voucher_id", "voucher_id"),
        sa.Index("ix_journal_lines_entry_id", "entry_id"),
        sa.Index("ix_journal_lines_provider_id", "provider_id"),
    )
    for table in (entries, lines):
        op.execute(f"DROP TRIGGER IF EXISTS {table.name}_append_only")
        with op.batch_alter_table(table.name, copy_from=table, recreate="always"):
            pass
        op.execute(
            f"CREATE TRIGGER {table.name}_append_only BEFORE UPDATE ON {table.name} "
            "BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END"
        )
