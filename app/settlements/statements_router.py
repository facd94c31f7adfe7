"""Statement downloads: a batch's CSV and XLSX (staff in scope), a provider's monthly statement
(the provider itself, or staff)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from app.db import session_scope
from app.deps import AnyPrincipal, SessionDep, StaffPrincipal
from app.reports.xlsx import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, content_disposition, file_chunks
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import MonthText, problem_responses
from app.settlements import statements
from app.settlements.service import get_visible_batch

router = APIRouter(
    route_class=TransactionRetryRoute,
    tags=["settlement"],
    responses=problem_responses(401, 403, 404, 422),
)

SPOOL_MAX_BYTES = 8 * 1024 * 1024  # larger workbooks go to a temporary file on disk


def _file(media_type: str, description: str) -> dict:
    return {
        200: {
            "description": description,
            "content": {media_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def _download(chunks: Iterator[bytes], media_type: str, names: tuple[str, str]) -> StreamingResponse:
    filename, fallback = names
    return StreamingResponse(
        chunks,
        media_type=media_type,
        headers={"Content-Disposition": content_disposition(filename, fallback)},
    )


def _streamed(produce: Callable[[Session], Iterator[bytes]]) -> Iterator[bytes]:
    """Run ``produce`` in a read session of its own: the request's session has been committed
    and closed by the time the response body is sent."""
    with session_scope(write=False) as session:
        yield from produce(session)


def _workbook(write: Callable[[IO[bytes]], None]) -> Iterator[bytes]:
    """Write a workbook to a spooled temporary file (memory, then disk) and stream it back."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)
    try:
        write(out)
    except BaseException:
        out.close()
        raise
    return file_chunks(out)


@router.get(
    "/settlements/{settlement_id}/statement.csv",
    response_class=StreamingResponse,
    summary="结算单 CSV(每笔核销一行)",
    responses=_file(CSV_MEDIA_TYPE, "UTF-8(带 BOM)CSV,中文表头,金额单位元"),
)
def batch_statement_csv(settlement_id: str, session: SessionDep, caller: StaffPrincipal):
    batch = get_visible_batch(session, caller, settlement_id)
    batch_id = batch.id
    return _download(
        _streamed(lambda read: statements.batch_csv(read, batch_id)),
        CSV_MEDIA_TYPE,
        statements.batch_filename(batch, "csv"),
    )


@router.get(
    "/settlements/{settlement_id}/statement.xlsx",
    response_class=StreamingResponse,
    summary="结算单 XLSX(汇总表及各服务机构明细表)",
    responses=_file(XLSX_MEDIA_TYPE, "XLSX:首个工作表为汇总,其后每个服务机构一个工作表"),
)
def batch_statement_xlsx(settlement_id: str, session: SessionDep, caller: StaffPrincipal):
    batch = get_visible_batch(session, caller, settlement_id)
    chunks = _workbook(lambda out: statements.write_batch_xlsx(session, batch, out))
    return _download(chunks, XLSX_MEDIA_TYPE, statements.batch_filename(batch, "xlsx"))


@router.get(
    "/providers/{provider_id}/statement",
    response_class=StreamingResponse,
    summary="服务机构月度结算对账单(各区结算批次中本机构的核销及合计)",
    responses={
        200: {
            "description": "format=csv: UTF-8(带 BOM)CSV;format=xlsx: XLSX(汇总与明细)",
            "content": {
                "text/csv": {"schema": {"type": "string", "format": "binary"}},
                XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def provider_statement(
    provider_id: str,
    session: SessionDep,
    caller: AnyPrincipal,
    month: Annotated[MonthText, Query(description="YYYY-MM")],
    statement_format: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
):
    statement = statements.provider_statement(session, caller, provider_id, Month.parse(month))
    if statement_format == "xlsx":
        chunks = _workbook(lambda out: statements.write_provider_xlsx(session, statement, out))
        return _download(chunks, XLSX_MEDIA_TYPE, statements.provider_filename(statement, "xlsx"))
    return _download(
        _streamed(lambda read: statements.provider_csv(read, statement)),
        CSV_MEDIA_TYPE,
        statements.provider_filename(statement, "csv"),
    )
