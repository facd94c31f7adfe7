"""The dashboard as a sub-application mounted at /dashboard: its own HTML error pages, security
headers and Server-Timing, the same database sessions and services as the API."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.dashboard import (
    anomalies,
    audits,
    auth,
    elders,
    overview,
    providers,
    redemptions,
    reports,
    settlements,
)
from app.dashboard.web import STATIC_DIR, LoginRequired, error_redirect, href, render
from app.errors import AppError, NotFound, ValidationFailed

logger = logging.getLogger(__name__)

# Pages show personal data: never cached, never framed, scripts and styles from here only.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def _page_routers():
    """Every page module's router: a new page module registers here."""
    return [
        auth.router,
        overview.router,
        settlements.router,
        anomalies.router,
        audits.router,
        providers.router,
        redemptions.router,
        elders.router,
        reports.router,
    ]


def create_dashboard() -> FastAPI:
    dashboard = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    dashboard.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in _page_routers():
        dashboard.include_router(router)

    @dashboard.middleware("http")
    async def headers_and_timing(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        # Server time of the page, read by bench/dashboard and visible in the browser's devtools.
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        if not request.url.path.startswith(f"{request.scope.get('root_path', '')}/static/"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    @dashboard.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        return RedirectResponse(href(request, "/login", next=exc.next_path), status_code=303)

    @dashboard.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError):
        if request.method == "POST" and exc.status not in (401,):
            return error_redirect(request, exc)
        return render(request, "error.html", {"error": exc}, status_code=exc.status)

    @dashboard.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError):
        error = ValidationFailed("请求参数不正确: " + "; ".join(_field_errors(exc)))
        if request.method == "POST":
            return error_redirect(request, error)
        return render(request, "error.html", {"error": error}, status_code=error.status)

    @dashboard.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        error = NotFound("页面不存在") if exc.status_code == 404 else AppError(str(exc.detail))
        return render(request, "error.html", {"error": error}, status_code=exc.status_code)

    @dashboard.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        logger.exception("dashboard page failed", exc_info=exc)
        error = AppError("系统内部错误,已记录,请稍后重试或联系运维人员")
        return render(request, "error.html", {"error": error}, status_code=500)

    return dashboard


def _field_errors(exc: RequestValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}" for e in exc.errors()[:5]]
