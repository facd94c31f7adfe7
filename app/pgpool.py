"""The asyncpg pool of a web worker, for the point-of-service hot path on PostgreSQL.

Everything else uses SQLAlchemy (app/db.py). The hot path (POST /redemptions, POST /pos/lookup)
runs a few fixed statements per request; through asyncpg, prepared once per connection and
without SQLAlchemy's statement building, they cost a fraction of the CPU (docs/decisions.md,
"The redemption hot path"). SQLite has no pool here: its requests take the SQLAlchemy path.
"""

from __future__ import annotations

import asyncio
import json

import asyncpg
from sqlalchemy.engine import make_url
from starlette.requests import Request


def asyncpg_dsn(database_url: str) -> str | None:
    """The libpq-style DSN of a SQLAlchemy PostgreSQL URL (any driver); None for other databases.
    Query parameters pass through, so a multi-host URL with target_session_attrs keeps them."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _configure(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """On release: nothing beyond asyncpg's own rollback of an unfinished transaction. The hot
    path sets no session state (no LISTEN, no advisory lock, no SET), so the default reset
    (``RESET ALL`` and three more statements, a round trip per request) would only cost time."""


async def open_pool(database_url: str, *, size: int) -> asyncpg.Pool | None:
    dsn = asyncpg_dsn(database_url)
    if dsn is None:
        return None
    # Generic plans: every hot-path statement looks rows up by key, so the plan never depends on
    # the values, and planning the CTEs afresh would cost more than running them.
    settings = {"plan_cache_mode": "force_generic_plan"}
    return await asyncpg.create_pool(
        dsn, min_size=1, max_size=size, init=_configure, reset=_keep_session, server_settings=settings
    )


def pool_of(request: Request) -> asyncpg.Pool | None:
    """The worker's pool, when this request runs on the event loop that opened it (a second
    ASGI client of the same application, as some tests make, has a loop of its own: it takes
    the SQLAlchemy path)."""
    pool = getattr(request.app.state, "pg_pool", None)
    if pool is None or getattr(request.app.state, "pg_pool_loop", None) is not asyncio.get_running_loop():
        return None
    return pool
