from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.principal import Role
from app.deps import SessionDep, require_roles
from app.integrity import verify as integrity
from app.integrity.schemas import LedgerVerifyOut
from app.routing import TransactionRetryRoute
from app.schemas import problem_responses

router = APIRouter(
    route_class=TransactionRetryRoute,
    prefix="/ledger",
    tags=["ledger"],
    responses=problem_responses(401, 403),
)

Verifier = Annotated[object, Depends(require_roles(Role.CITY_ADMIN, Role.AUDITOR))]


@router.get("/verify", response_model=LedgerVerifyOut, summary="从分录重新计算全部余额并核对")
def verify(session: SessionDep, _caller: Verifier):
    report = integrity.verify(session)
    return LedgerVerifyOut(
        ok=report.ok,
        entries=report.entries,
        lines=report.lines,
        vouchers_checked=report.vouchers_checked,
        mismatches=report.mismatches,
    )
