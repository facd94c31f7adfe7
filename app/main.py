"""The application: routers under /api/v1, the problem+json handlers, the lifespan."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from app.anomalies.router import router as anomalies_router
from app.assessments.router import router as assessments_router
from app.audits.router import router as audits_router
from app.calendar.router import router as calendar_router
from app.config import get_settings
from app.dashboard.app import create_dashboard
from app.elders.router import router as elders_router
from app.errors import install_error_handlers
from app.evidence.router import router as evidence_router
from app.evidence.storage import ensure_writable
from app.health.router import router as health_router
from app.integrity.router import router as ledger_router
from app.jobs.router import router as jobs_router
from app.limits import InFlightLimit
from app.logging_setup import configure_logging
from app.pgpool import open_pool
from app.provider_lists.router import router as provider_lists_router
from app.providers.router import router as providers_router
from app.redemptions.router import router as redemptions_router
from app.reference.router import router as reference_router
from app.reports.router import router as reports_router
from app.sanctions.router import router as sanctions_router
from app.sandbox.router import router as sandbox_router
from app.scheduler import JobScheduler
from app.settlements.router import router as settlements_router
from app.settlements.statements_router import router as statements_router
from app.staff.router import router as staff_router

API_PREFIX = "/api/v1"
DASHBOARD_PREFIX = "/dashboard"


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    configure_logging(settings.log_level)
    # Refuse to start rather than answer 500 for every upload and download later.
    ensure_writable(settings.evidence.storage_dir)
    # PostgreSQL: the point-of-service hot path's own connections (app/pgpool.py).
    app.state.pg_pool = await open_pool(settings.database_url, size=settings.server.fast_path_pool_size)
    app.state.pg_pool_loop = asyncio.get_running_loop()
    scheduler = None
    if settings.scheduler.enabled:
        # Every worker may start one; the lease lets exactly one of them run jobs.
        scheduler = JobScheduler()
        scheduler.start()
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.shutdown()
        if app.state.pg_pool is not None:
            await app.state.pg_pool.close()


def create_app() -> FastAPI:
    app = FastAPI(
        title="北京市养老服务消费补贴电子消费券账本",
        summary="Voucher ledger for Beijing's 2026 elderly-care consumption subsidy (京民发〔2026〕6号)",
        version="1.0.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(InFlightLimit, limit=get_settings().server.max_concurrent_requests)
    app.include_router(health_router)
    app.include_router(health_router, prefix=API_PREFIX, include_in_schema=False)
    for router in (
        staff_router,
        reference_router,
        providers_router,
        elders_router,
        redemptions_router,
        jobs_router,
        ledger_router,
        settlements_router,
        statements_router,
        reports_router,
        calendar_router,
        sandbox_router,
        evidence_router,
        audits_router,
        anomalies_router,
        sanctions_router,
        provider_lists_router,
        assessments_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.mount(DASHBOARD_PREFIX, create_dashboard(), name="dashboard")

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(f"{DASHBOARD_PREFIX}/", status_code=307)

    return app


app = create_app()
