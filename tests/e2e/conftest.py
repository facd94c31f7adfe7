"""Browser tests: Playwright drives Debian's Chromium (headless) against a real server process
loaded with the demo data, on each test backend.

Chromium comes from the system (``VOUCHER_TEST_CHROMIUM``, default ``/usr/bin/chromium``), never
from Playwright's own download. Under CI (``CI=true``) a missing browser fails the run; elsewhere
the browser tests are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.db import session_scope
from app.demo.loader import load_demo
from tests.live_server import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# A Wednesday in April 2026: March is over (its batch can be built), April's civil review
# deadline (the 10th working day, 2026-04-15) is still ahead.
E2E_NOW = "2026-04-08T10:00:00+08:00"
DEMO_ELDERS_PER_DISTRICT = 60
# Headless in a closed network: no first-run, sync, component or background traffic.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


def chromium_path() -> str | None:
    configured = os.environ.get("VOUCHER_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return configured if Path(configured).exists() else None


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        message = "Chromium not found (apt install chromium, or set VOUCHER_TEST_CHROMIUM)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def demo_server(service_env, tmp_path) -> Iterator[LiveServer]:
    """A server on this backend's test database, the sandbox clock at ``E2E_NOW``, demo data."""
    server = LiveServer(service_env, tmp_path / "server.log").start()
    try:
        with server.client() as admin:
            response = admin.put("/api/v1/sandbox/clock", json={"now": E2E_NOW})
            assert response.status_code == 200, response.text
        with session_scope() as session:
            summary = load_demo(session, elders_per_district=DEMO_ELDERS_PER_DISTRICT)
        assert summary.loaded
        yield server
    finally:
        server.stop()


@pytest.fixture
def artifacts(request) -> Path:
    """Where this test saves its screenshots and downloads (git-ignored), per backend."""
    backend = request.node.callspec.params.get("database_url", "db")
    folder = ARTIFACTS / backend
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def api(server: LiveServer, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30.0)
