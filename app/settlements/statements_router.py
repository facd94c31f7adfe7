"""Statement downloads: a batch's CSV and XLSX (staff in scope), a provider's monthly statement
(the provider itself, or staff)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from app.deps import AnyPrincipal, SessionDep, StaffPrincipal
from app.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE
from app.routing import TransactionRetryRoute
from app.rules.months import Month
from app.schemas import MonthText, problem_responses
from app.settlements import downloads, statements
from app.settlements.service import get_visible_batch

router = APIRouter(
    route_class=TransactionRetryRoute,
    tags=["settlement"],
    responses=problem_responses(401, 403, 404, 422),
)


def _file(media_type: str, description: str) -> dict:
    return {
        200: {
            "description": description,
            "content": {media_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


@router.get(
    "/settlements/{settlement_id}/statement.csv",
    response_class=StreamingResponse,
    summary="结算单 CSV(每笔核销一行)",
    responses=_file(CSV_MEDIA_TYPE, "UTF-8(带 BOM)CSV,中文表头,金额单位元"),
)
def batch_statement_csv(settlement_id: str, session: SessionDep, caller: StaffPrincipal):
    return downloads.batch_csv_response(get_visible_batch(session, caller, settlement_id))


@router.get(
    "/settlements/{settlement_id}/statement.xlsx",
    response_class=StreamingResponse,
    summary="结算单 XLSX(汇总表及各服务机构明细表)",
    responses=_file(XLSX_MEDIA_TYPE, "XLSX:首个工作表为汇总,其后每个服务机构一个工作表"),
)
def batch_statement_xlsx(settlement_id: str, session: SessionDep, caller: StaffPrincipal):
    return downloads.batch_xlsx_response(session, get_visible_batch(session, caller, settlement_id))


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
    return downloads.provider_statement_response(session, statement, statement_format)
