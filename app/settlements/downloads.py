"""Statement downloads as HTTP responses, shared by the API (app.settlements.statements_router,
Bearer auth) and the dashboard (app.dashboard.settlements, cookie auth): the same bytes, the
same headers. Callers check who may see the batch or the statement first."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import IO

from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.db import session_scope
from app.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, content_disposition, file_chunks, safe_filename
from app.models.settlements import SettlementBatch
from app.rules.months import Month
from app.settlements.statement_csv import batch_csv, provider_csv
from app.settlements.statement_xlsx import write_batch_xlsx, write_provider_xlsx
from app.settlements.statements import ProviderStatement

SPOOL_MAX_BYTES = 8 * 1024 * 1024  # larger workbooks go to a temporary file on disk


def download(chunks: Iterator[bytes], media_type: str, names: tuple[str, str]) -> StreamingResponse:
    """A file download: ``names`` is the (Chinese) file name and its ASCII fallback."""
    filename, fallback = names
    return StreamingResponse(
        chunks,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename, fallback)},
    )


def streamed(produce: Callable[[Session], Iterator[bytes]]) -> Iterator[bytes]:
    """Run ``produce`` in a read session of its own: the request's session has been committed
    and closed by the time the response body is sent."""
    with session_scope(write=False) as session:
        yield from produce(session)


def workbook(write: Callable[[IO[bytes]], None]) -> Iterator[bytes]:
    """Write a workbook to a spooled temporary file (memory, then disk) and stream it back."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)
    try:
        write(out)
    except BaseException:
        out.close()
        raise
    return file_chunks(out)


def batch_filename(batch: SettlementBatch, extension: str) -> tuple[str, str]:
    """The download name (Chinese) and its ASCII fallback."""
    month = Month.of(batch.month)
    return (
        f"结算单_{batch.district_code}_{month}.{extension}",
        f"settlement_{batch.district_code}_{month}.{extension}",
    )


def provider_filename(statement: ProviderStatement, extension: str) -> tuple[str, str]:
    return (
        safe_filename(f"对账单_{statement.provider_name}_{statement.month}.{extension}"),
        f"statement_{statement.credit_code}_{statement.month}.{extension}",
    )


def batch_csv_response(batch: SettlementBatch) -> StreamingResponse:
    """The batch statement as CSV, streamed from its own read session."""
    batch_id = batch.id
    return download(
        streamed(lambda read: batch_csv(read, batch_id)), CSV_MEDIA_TYPE, batch_filename(batch, "csv")
    )


def batch_xlsx_response(session: Session, batch: SettlementBatch) -> StreamingResponse:
    """The batch statement as XLSX, written with the request's session before it closes."""
    chunks = workbook(lambda out: write_batch_xlsx(session, batch, out))
    return download(chunks, XLSX_MEDIA_TYPE, batch_filename(batch, "xlsx"))


def provider_statement_response(
    session: Session, statement: ProviderStatement, statement_format: str
) -> StreamingResponse:
    """A provider's monthly statement, ``statement_format`` "csv" or "xlsx"."""
    if statement_format == "xlsx":
        chunks = workbook(lambda out: write_provider_xlsx(session, statement, out))
        return download(chunks, XLSX_MEDIA_TYPE, provider_filename(statement, "xlsx"))
    return download(
        streamed(lambda read: provider_csv(read, statement)),
        CSV_MEDIA_TYPE,
        provider_filename(statement, "csv"),
    )
