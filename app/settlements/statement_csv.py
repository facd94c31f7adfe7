"""Settlement statements as CSV: UTF-8 with a byte-order mark (so Excel detects the encoding),
CRLF line ends, money as exact yuan text, free text guarded against formulas. Written in chunks
as the rows stream from app/settlements/statements.py."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator, Sequence

from sqlalchemy.orm import Session

from app import exports
from app.rules.money import yuan_text
from app.settlements.statements import (
    CHUNK_ROWS,
    COLUMNS,
    PROVIDER_COLUMNS,
    ProviderStatement,
    RowTotals,
    StatementRow,
    batch_rows,
    provider_rows,
)


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[bytes]:
    """The header and rows, encoded ``chunk_rows`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(exports.UTF8_BOM)
    writer.writerow(header)
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield buffer.getvalue().encode("utf-8")


def row_cells(row: StatementRow) -> list[str]:
    """A redemption under ``COLUMNS``."""
    return [
        exports.csv_text(row.provider_name),
        row.credit_code,
        str(row.redemption_id),
        exports.csv_text(row.elder),
        exports.csv_text(row.service_item),
        row.served_at_text,
        yuan_text(row.amount_fen),
        yuan_text(row.ltci_paid_fen),
        yuan_text(row.deduction_fen),
        exports.yes_no(row.rejected),
        exports.csv_text(row.rejection_reason),
        yuan_text(row.payable_fen),
        exports.yes_no(row.missing_evidence),
    ]


def totals_cells(totals: RowTotals, *, leading: int = 0) -> list[str]:
    """A 合计 row under ``COLUMNS`` (after ``leading`` extra columns)."""
    return [
        *([""] * leading),
        "合计",
        "",
        f"{totals.redemptions} 笔",
        "",
        "",
        "",
        yuan_text(totals.amount_fen),
        yuan_text(totals.ltci_paid_fen),
        yuan_text(totals.deduction_fen),
        f"{totals.rejected} 笔",
        f"核减 {yuan_text(totals.rejected_fen)} 元",
        yuan_text(totals.payable_fen),
        f"{totals.missing_evidence} 笔",
    ]


def batch_csv(session: Session, batch_id: uuid.UUID) -> Iterator[bytes]:
    """The batch statement: one row per redemption, nothing else."""
    return csv_bytes(COLUMNS, (row_cells(row) for row in batch_rows(session, batch_id)))


def provider_csv(session: Session, statement: ProviderStatement) -> Iterator[bytes]:
    """One row per redemption (with the district of its batch), then a 合计 row."""

    def rows() -> Iterator[list[str]]:
        for row in provider_rows(session, statement):
            yield [exports.csv_text(row.district_name), *row_cells(row)]
        yield totals_cells(statement.totals, leading=1)

    return csv_bytes(PROVIDER_COLUMNS, rows())
