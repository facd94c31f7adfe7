"""Bounded retries of whole requests whose transaction lost a race in the database.

A serialization failure or deadlock (PostgreSQL 40001, 40P01) or a busy SQLite database
aborts the transaction; the only safe retry is of the whole request, dependencies included, so
that it runs in a fresh transaction. After the last attempt the error reaches the handler in
``app.errors`` and the client gets 503 SERVICE_UNAVAILABLE, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import random

from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
RETRYABLE_SQLSTATES = {"40001", "40P01"}


def is_retryable(error: DBAPIError) -> bool:
    if error.connection_invalidated:  # a pooled connection the server had closed
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error.orig)


def abandon_sessions(request) -> None:
    for session in getattr(request.state, "db_sessions", []):
        if not session.info.get("abandoned"):
            session.info["abandoned"] = True
            session.rollback()
            session.close()


class TransactionRetryRoute(APIRoute):
    def get_route_handler(self):
        handler = super().get_route_handler()

        async def retrying_handler(request):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return await handler(request)
                except DBAPIError as error:
                    if attempt == MAX_ATTEMPTS or not is_retryable(error):
                        raise
                    # The failed attempt's session stays in FastAPI's exit stack until the
                    # request ends: roll it back now and mark it so that nothing commits it.
                    await run_in_threadpool(abandon_sessions, request)
                    log.warning(
                        "retrying %s after %s (attempt %d)",
                        request.url.path,
                        type(error.orig).__name__,
                        attempt,
                    )
                    await asyncio.sleep(random.uniform(0.005, 0.02) * attempt)
            raise AssertionError("unreachable")

        return retrying_handler
