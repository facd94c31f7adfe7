"""Sign-in with a staff token, sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse

from app.auth.sessions import end_session, find_staff_by_token, start_session
from app.config import get_settings
from app.dashboard.web import SESSION_COOKIE, FormUser, href, render, same_origin, secure_cookie
from app.deps import SessionDep

router = APIRouter()


def _safe_next(next_path: str | None) -> str:
    # Only a path inside the dashboard: never an absolute URL (open redirect).
    if next_path and next_path.startswith("/") and not next_path.startswith("//") and "\\" not in next_path:
        return next_path
    return "/"


@router.get("/login", name="login")
def login_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None):  # noqa: A002
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
):
    staff = find_staff_by_token(session, token.strip()) if token.strip() and same_origin(request) else None
    if staff is None:
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "令牌无效或账号已停用,请核对后重试"},
            status_code=401,
        )
    cookie_value, _row = start_session(session, staff)
    response = RedirectResponse(href(request, _safe_next(next)), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie_value,
        max_age=get_settings().dashboard.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request),
        path=request.scope.get("root_path") or "/",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, user: FormUser):
    end_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse(href(request, "/login"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=request.scope.get("root_path") or "/")
    return response
