"""Upgrading an existing SQLite database that holds data.

Some migrations rebuild SQLite tables (copy, drop, rename: the journal in 0004/0009, elders in
0012) because SQLite cannot alter a constraint. Dropping a table that other rows reference fails
while foreign keys are on, so migrations run with them off and check them once at the end
(app.db.migration_engine, app.db.check_foreign_keys). A fresh database, which is all the other
tests use, would not show the problem.
"""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from app.migrate import upgrade

ELDER, VOUCHER = uuid.uuid4().hex, uuid.uuid4().hex
NOW = "2026-03-16 02:00:00.000000"


def rows_at_0008(db: sqlite3.Connection) -> None:
    """An elder with history, a voucher and its issue entry, written as 0008's schema had them."""
    db.execute(
        "INSERT INTO elders (id, district_code, name, id_number, birth_date, residency, disability_level,"
        " assessed_on, benefits, status, eligible, ineligible_reasons, eligibility_checked_on, created_at,"
        " created_by) VALUES (?, '110105', '测试', '110105194001010012', '1940-01-01', 'beijing_hukou',"
        " 'severe', '2026-01-05', '[]', 'approved', 1, '[]', '2026-03-16', ?, 'test')",
        (ELDER, NOW),
    )
    db.execute(
        "INSERT INTO elder_status_changes (elder_id, district_code, from_status, to_status, reason,"
        " changed_by, changed_at) VALUES (?, '110105', 'pending', 'approved', 'approved', 'test', ?)",
        (ELDER, NOW),
    )
    db.execute(
        "INSERT INTO vouchers (id, district_code, elder_id, kind, month, face_value_fen, balance_fen, status,"
        " valid_from, valid_until, issued_at) VALUES (?, '110105', ?, 'monthly', '2026-03-01', 80000, 80000,"
        " 'active', '2026-02-28 16:00:00.000000', '2026-03-31 16:00:00.000000', ?)",
        (VOUCHER, ELDER, NOW),
    )
    entry = db.execute(
        "INSERT INTO journal_entries (district_code, kind, month, created_at, created_by)"
        " VALUES ('110105', 'issue', '2026-03-01', ?, 'test')",
        (NOW,),
    ).lastrowid
    db.execute(
        "INSERT INTO journal_lines (entry_id, district_code, account, voucher_id, amount_fen)"
        " VALUES (?, '110105', 'voucher', ?, 80000)",
        (entry, VOUCHER),
    )
    db.execute(
        "INSERT INTO journal_lines (entry_id, district_code, account, amount_fen)"
        " VALUES (?, '110105', 'program_issued', -80000)",
        (entry,),
    )


@pytest.mark.backends("sqlite")
def test_a_sqlite_database_with_data_upgrades_through_the_table_rebuilds(tmp_path):
    path = tmp_path / "existing.db"
    upgrade(f"sqlite:///{path}", "0008")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        rows_at_0008(db)

    upgrade(f"sqlite:///{path}")

    with sqlite3.connect(path) as db:
        heads = {row[0] for row in db.execute("SELECT version_num FROM alembic_version")}
        assert len(heads) == 1 and heads != {"0008"}
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute(
            "SELECT disability_level, status FROM elders WHERE id = ?", (ELDER,)
        ).fetchall() == [("severe", "approved")]
        assert db.execute("SELECT count(*) FROM elder_status_changes").fetchone() == (1,)
        assert db.execute("SELECT sum(amount_fen), count(*) FROM journal_lines").fetchone() == (0, 2)
        # The journal is still append-only after its rebuild.
        triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {"journal_entries_append_only", "journal_lines_append_only"} <= triggers
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute("UPDATE journal_lines SET amount_fen = 1")
