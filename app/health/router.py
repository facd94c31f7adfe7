from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import SessionDep
from app.schemas import ResponseModel, problem_responses

router = APIRouter(tags=["health"])


class Health(ResponseModel):
    status: str


@router.get(
    "/healthz",
    response_model=Health,
    summary="健康检查(数据库可达)",
    responses=problem_responses(503),
)
def healthz(session: SessionDep):
    session.execute(text("SELECT 1"))
    return Health(status="ok")
