"""reference data: districts, the 2026 catalogue, policy rules, program period

The rows come from the seed files in app/reference/data/ (transcribed from 京民发〔2026〕6号 and
checked against the text by tests/rules/test_catalogue_text.py). A later change to the policy is a
new migration that inserts a new row, never an edit of these files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:30:00+08:00
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED_DIR = Path(app.db.__file__).resolve().parent / "reference" / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with open(SEED_DIR / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _fen(text: str) -> int | None:
    return int(text) if text else None


districts = sa.table("districts", sa.column("code", sa.String), sa.column("name", sa.String))
catalogue_items = sa.table(
    "catalogue_items",
    sa.column("item", sa.Integer),
    sa.column("category", sa.String),
    sa.column("group", sa.String),
    sa.column("subgroup", sa.String),
    sa.column("name", sa.String),
    sa.column("unit", sa.String),
    sa.column("ref_price_min_fen", sa.BigInteger),
    sa.column("ref_price_max_fen", sa.BigInteger),
)
policy_rules = sa.table(
    "policy_rules",
    sa.column("effective_from", sa.Date),
    sa.column("home_community_rate", app.db.ExactDecimal()),
    sa.column("institution_rate", app.db.ExactDecimal()),
    sa.column("monthly_cap_fen", sa.BigInteger),
    sa.column("central_share", app.db.ExactDecimal()),
    sa.column("city_share", app.db.ExactDecimal()),
    sa.column("district_share", app.db.ExactDecimal()),
    sa.column("source", sa.String),
)
program_periods = sa.table(
    "program_periods",
    sa.column("id", sa.Integer),
    sa.column("first_month", sa.Date),
    sa.column("last_month", sa.Date),
    sa.column("source", sa.String),
)


def upgrade() -> None:
    op.bulk_insert(districts, _rows("districts.csv"))
    op.bulk_insert(
        catalogue_items,
        [
            {
                "item": int(row["item"]),
                "category": row["category"],
                "group": row["group"],
                "subgroup": row["subgroup"] or None,
                "name": row["name"],
                "unit": row["unit"],
                "ref_price_min_fen": _fen(row["ref_price_min_fen"]),
                "ref_price_max_fen": _fen(row["ref_price_max_fen"]),
            }
            for row in _rows("catalogue_2026.csv")
        ],
    )
    op.bulk_insert(
        policy_rules,
        [
            {
                "effective_from": date.fromisoformat(row["effective_from"]),
                "monthly_cap_fen": int(row["monthly_cap_fen"]),
                "source": row["source"],
                **{
                    key: Decimal(row[key])
                    for key in (
                        "home_community_rate",
                        "institution_rate",
                        "central_share",
                        "city_share",
                        "district_share",
                    )
                },
            }
            for row in _rows("policy_rules.csv")
        ],
    )
    op.bulk_insert(
        program_periods,
        [
            {
                "id": index,
                "first_month": date.fromisoformat(row["first_month"]),
                "last_month": date.fromisoformat(row["last_month"]),
                "source": row["source"],
            }
            for index, row in enumerate(_rows("program_periods.csv"), start=1)
        ],
    )


def downgrade() -> None:
    for table in ("program_periods", "policy_rules", "catalogue_items", "districts"):
        op.execute(sa.text(f"DELETE FROM {table}"))
