"""A real server for the concurrency and crash tests.

The service runs in its own process (``python -m uvicorn app.main:app``) on a free loopback port,
against the test database of the current backend, so that requests race in real threads and
real transactions, exactly as in production. Requests come from ``httpx.Client``s, one per
thread, released together by a ``threading.Barrier``.

Everything is bounded: the server must answer ``/healthz`` within ``SERVER_START_SECONDS``, every
HTTP call has a timeout, every thread join has a timeout, and servers are stopped (SIGTERM,
then SIGKILL) at teardown, before ``service_env`` empties the tables.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.conftest import DEFAULT_NOW
from tests.factories import id_number, make_elder, make_provider
from tests.live_server import (  # noqa: F401  (re-exported for the concurrency tests)
    HTTP_TIMEOUT,
    LOOPBACK,
    REPO_ROOT,
    SERVER_START_SECONDS,
    SERVER_STOP_SECONDS,
    LiveServer,
    free_port,
    service_process_env,
)

API = "/api/v1"
BARRIER_SECONDS = 30.0
FACE_VALUE_FEN = 80_000
MARCH_SERVED_AT = "2026-03-16T10:00:00+08:00"  # the instant the elders are approved


@pytest.fixture
def start_server(service_env, tmp_path) -> Iterator[Callable[[], LiveServer]]:
    """A factory of servers on this test's database; every one is stopped at teardown."""
    servers: list[LiveServer] = []

    def start() -> LiveServer:
        server = LiveServer(service_env, tmp_path / f"server-{len(servers) + 1}.log")
        servers.append(server)
        return server.start()

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def live_server(start_server) -> LiveServer:
    """A running server with the sandbox clock frozen at 2026-03-16 10:00 Beijing time."""
    server = start_server()
    with server.client() as admin:
        set_clock(admin, DEFAULT_NOW)
    return server


@pytest.fixture
def admin(live_server) -> Iterator[httpx.Client]:
    with live_server.client() as client:
        yield client


# --- data, over HTTP ----------------------------------------------------------------------------
def set_clock(admin: httpx.Client, now: str) -> None:
    response = admin.put(f"{API}/sandbox/clock", json={"now": now})
    assert response.status_code == 200, response.text


def create_provider(admin: httpx.Client, **fields) -> dict:
    """A listed station in 朝阳区 (it may redeem home and community items such as item 11)."""
    return make_provider(admin, **fields)


def create_elders(admin: httpx.Client, count: int, **fields) -> list[dict]:
    """``count`` eligible elders, pending (not approved), each with a distinct ID number."""
    elders = []
    for serial in range(count):
        # Distinct birth dates keep ID numbers unique however many tests ran before.
        birth = f"1948{(serial // 28) % 12 + 1:02d}{serial % 28 + 1:02d}"
        number = id_number(region=fields.get("district_code", "110105"), birth=birth, sequence=serial)
        elders.append(make_elder(admin, number=number, birth=birth, **fields))
    return elders


def approve(admin: httpx.Client, elder_id: str) -> httpx.Response:
    return admin.post(f"{API}/elders/{elder_id}/approve")


def approved_elders(admin: httpx.Client, count: int, **fields) -> list[dict]:
    """``count`` approved elders, each with this month's voucher (the approval response)."""
    approved = []
    for elder in create_elders(admin, count, **fields):
        response = approve(admin, elder["id"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["voucher"] is not None, body
        approved.append(body)
    return approved


def redemption_body(
    elder_id: str, *, amount_fen: int, item: int = 11, served_at: str = MARCH_SERVED_AT
) -> dict:
    return {
        "elder_id": elder_id,
        "item": item,
        "amount_fen": amount_fen,
        "ltci_paid_fen": 0,
        "served_at": served_at,
        "id_checked": True,
    }


def vouchers_of(admin: httpx.Client, elder_id: str, month: str) -> list[dict]:
    response = admin.get(f"{API}/elders/{elder_id}/vouchers", params={"month": month})
    assert response.status_code == 200, response.text
    return response.json()


def the_voucher(admin: httpx.Client, elder_id: str, month: str = "2026-03") -> dict:
    found = vouchers_of(admin, elder_id, month)
    assert len(found) == 1, found
    return found[0]


def all_redemptions(client: httpx.Client, **params) -> list[dict]:
    """Every redemption the caller sees (paged, bounded)."""
    items: list[dict] = []
    for page in range(100):
        response = client.get(f"{API}/redemptions", params={**params, "limit": 1000, "offset": page * 1000})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            assert len(items) == body["total"], body["total"]
            return items
    raise AssertionError("more than 100 pages of redemptions")


def job_runs(admin: httpx.Client) -> list[dict]:
    response = admin.get(f"{API}/jobs/runs", params={"limit": 500})
    assert response.status_code == 200, response.text
    return response.json()


def assert_ledger_ok(admin: httpx.Client) -> dict:
    response = admin.get(f"{API}/ledger/verify")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True, report["mismatches"]
    assert report["mismatches"] == []
    return report


# --- concurrent requests ------------------------------------------------------------------------
@dataclass
class Result:
    """What one concurrent request got: a response, or the transport error instead."""

    index: int
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None

    @property
    def replayed(self) -> bool:
        return self.headers.get("idempotent-replayed") == "true"

    def brief(self) -> str:
        if self.error:
            return f"#{self.index}: {self.error} after {self.seconds:.1f}s"
        return f"#{self.index}: {self.status} {self.code or ''} after {self.seconds:.1f}s"


def _result(index: int, send: Callable[[httpx.Client], httpx.Response], client) -> Result:
    started = time.monotonic()
    try:
        response = send(client)
    except httpx.HTTPError as error:
        return Result(index, error=f"{type(error).__name__}: {error}", seconds=time.monotonic() - started)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Result(
        index,
        status=response.status_code,
        body=body,
        headers={k.lower(): v for k, v in response.headers.items()},
        seconds=time.monotonic() - started,
    )


def fire_together(
    server: LiveServer,
    requests: list[tuple[str | None, Callable[[httpx.Client], httpx.Response]]],
) -> list[Result]:
    """Send every request from its own thread and connection, all released at one barrier.

    ``requests`` is a list of ``(token, send)``: ``token`` None means the city admin.
    """
    barrier = threading.Barrier(len(requests), timeout=BARRIER_SECONDS)

    def run(index: int) -> Result:
        token, send = requests[index]
        with server.client(token=token) as client:
            # Open the connection before the barrier, so that the requests themselves race.
            client.get("/healthz")
            barrier.wait()
            return _result(index, send, client)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        futures = [pool.submit(run, i) for i in range(len(requests))]
        return [f.result(timeout=BARRIER_SECONDS + 3 * HTTP_TIMEOUT.read) for f in futures]


def summary(results: list[Result]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        label = r.error.split(":")[0] if r.error else f"{r.status} {r.code or ''}".strip()
        counts[label] = counts.get(label, 0) + 1
    slowest = max((r.seconds for r in results), default=0.0)
    return f"{counts} (slowest {slowest:.1f} s)"


def assert_no_server_errors(results: list[Result], server: LiveServer) -> None:
    """No 5xx and no transport error; a 503 is named as such (the retries gave up)."""
    unavailable = [r for r in results if r.status == 503]
    assert not unavailable, (
        f"503 SERVICE_UNAVAILABLE under concurrency: {summary(results)}; e.g. {unavailable[0].body}"
        f"\n--- server log ---\n{server.log_tail()}"
    )
    broken = [r for r in results if r.error or (r.status or 0) >= 500]
    assert not broken, (
        f"server errors under concurrency: {summary(results)}; first: {broken[0].brief()} "
        f"{broken[0].body}\n--- server log ---\n{server.log_tail()}"
    )


# --- the database, read directly ----------------------------------------------------------------
def scalar(sql: str, **params) -> Any:
    """One value straight from the test database (the test process's engine)."""
    from app.db import get_engine

    with get_engine().connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(sql: str, **params) -> list:
    from app.db import get_engine

    with get_engine().connect() as connection:
        return list(connection.execute(text(sql), params))


def assert_balances_follow_redemptions() -> list:
    """Every voucher's stored balance is its face value minus its posted deductions, and not
    negative (no overdraft, no lost update). One statement, so one snapshot of the database even
    while requests whose client gave up are still running on the server."""
    found = rows(
        "SELECT v.balance_fen, v.face_value_fen, v.status, COALESCE((SELECT sum(r.deduction_fen) "
        "FROM redemptions r WHERE r.voucher_id = v.id AND r.status = 'posted'), 0) FROM vouchers v"
    )
    for balance, face, status, deducted in found:
        assert balance >= 0, found
        if status == "active":
            assert balance == face - deducted, found
    return found
