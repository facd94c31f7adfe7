"""Test databases are built by the migrations, once per backend and run; each test then starts
from the reference data alone (mutable tables are emptied after it).

Tables are emptied rather than wrapped in a rolled-back transaction because the service controls
its own transactions (BEGIN IMMEDIATE on SQLite, concurrent requests, the sandbox clock read on
its own connection); a test must see exactly what production sees.

Backends: ``VOUCHER_TEST_DATABASES`` (default ``sqlite,postgresql``). PostgreSQL comes from
``VOUCHER_TEST_POSTGRES_URL`` (default the local server's ``test`` database); each run creates
and drops its own database there. When PostgreSQL is asked for and cannot be reached, the run
fails: it never quietly skips.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import get_settings
from app.db import Base, get_engine, reset_engine

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
DEFAULT_NOW = "2026-03-16T10:00:00+08:00"
REFERENCE_TABLES = {"districts", "catalogue_items", "policy_rules", "program_periods"}

requested = [
    b.strip() for b in os.environ.get("VOUCHER_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()
]
POSTGRES_ADMIN_URL = os.environ.get(
    "VOUCHER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _create_postgres_database() -> tuple[str, callable]:
    admin_url = make_url(POSTGRES_ADMIN_URL)
    name = f"voucher_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure here means "no PostgreSQL"
        admin.dispose()
        raise pytest.UsageError(
            f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} is required for the "
            f"postgresql test backend and could not be used ({type(exc).__name__}: {exc}). "
            "Start it, set VOUCHER_TEST_POSTGRES_URL, or run only SQLite with "
            "VOUCHER_TEST_DATABASES=sqlite."
        ) from exc

    def drop() -> None:
        reset_engine()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "backends(*names): run this test only on these database backends")


def pytest_collection_modifyitems(config, items) -> None:
    """A test marked ``@pytest.mark.backends("postgresql")`` is not collected for other
    backends (deselected, not skipped: it does not apply there)."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("database_url")
        (dropped if marker and backend and backend not in marker.args else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=requested)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    from app.migrate import upgrade

    backend = request.param
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "voucher.db"
        url, drop = f"sqlite:///{path}", reset_engine
    elif backend == "postgresql":
        url, drop = _create_postgres_database()
    else:
        raise pytest.UsageError(f"unknown test backend {backend!r}")
    upgrade(url)
    yield url
    drop()


def _empty_mutable_tables(url: str) -> None:
    """Empty what the test wrote. On PostgreSQL only the tables holding rows are truncated (one
    query finds them): truncating every table costs a quarter of a second per test."""
    engine = get_engine()
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            holding = " UNION ALL ".join(
                f"SELECT '{t.name}' WHERE EXISTS (SELECT FROM {t.name})" for t in tables
            )
            used = [row[0] for row in connection.execute(text(holding))]
            if used:
                connection.execute(text(f"TRUNCATE {', '.join(used)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def service_env(database_url, monkeypatch) -> Iterator[str]:
    """The service configured for this backend, with the sandbox clock available."""
    monkeypatch.setenv("VOUCHER_DATABASE_URL", database_url)
    monkeypatch.setenv("VOUCHER_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("VOUCHER_SANDBOX_CLOCK", "true")
    monkeypatch.setenv("VOUCHER_ENVIRONMENT", "test")
    monkeypatch.setenv("VOUCHER_SCHEDULER__ENABLED", "false")  # tests run jobs explicitly
    get_settings.cache_clear()
    if str(get_engine().url.render_as_string(hide_password=False)) != database_url:
        reset_engine()
    yield database_url
    _empty_mutable_tables(database_url)
    get_settings.cache_clear()


@pytest.fixture
def backend(database_url) -> str:
    return make_url(database_url).get_backend_name()


@functools.cache
def shared_app():
    """One application per test process: an application builds its routing on its first request
    (about 0.2 s), which a fresh one per test would pay thousands of times. The settings are read
    when used, and each test client runs the lifespan again, so tests stay independent."""
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(service_env):
    from fastapi.testclient import TestClient

    with TestClient(shared_app()) as test_client:
        response = test_client.put(
            "/api/v1/sandbox/clock", json={"now": DEFAULT_NOW}, headers=admin_headers()
        )
        assert response.status_code == 200, response.text
        yield test_client


def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
