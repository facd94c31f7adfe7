"""Month-start jobs run by two schedulers at once, and by two admins at once, do the work once.

The schedulers are real: two OS processes (and, separately, two threads of this process) run
one scheduler tick (``app.scheduler.run_due_jobs``, then the daily jobs) with distinct holder ids
on the shared test database, released together; the lease must let exactly one of them expire
March and issue April.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.concurrency.conftest import (
    API,
    BARRIER_SECONDS,
    FACE_VALUE_FEN,
    REPO_ROOT,
    approved_elders,
    assert_ledger_ok,
    assert_no_server_errors,
    create_provider,
    fire_together,
    job_runs,
    redemption_body,
    scalar,
    service_process_env,
    set_clock,
    summary,
    vouchers_of,
)

APRIL_START = "2026-04-01T00:00:05+08:00"
ELDERS = 8
SCHEDULER_SECONDS = 60.0

# A scheduler process: connect, say "ready", wait for "go" on stdin, run one tick, print it.
SCHEDULER_SCRIPT = """
import json, sys
from app.db import get_engine
from app.clock import now
from tests.concurrency.test_scheduler_races import one_tick
get_engine().connect().close()
now()
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps(one_tick(sys.argv[1])), flush=True)
"""
MONTH_START_JOBS = ("expire", "issue")


def one_tick(holder: str) -> list[dict]:
    """What ``JobScheduler.tick`` runs, without its catch-all: the month-start jobs, then the
    daily ones where the scheduler has them."""
    import app.scheduler as scheduler

    done = scheduler.run_due_jobs(holder)
    daily = getattr(scheduler, "run_daily_jobs", None)
    if daily is not None:
        done += daily(holder)
    return done


@pytest.fixture
def march_with_vouchers(live_server, admin):
    """ELDERS approved elders holding March vouchers, one partly spent; the clock then moved to
    five seconds into April (Beijing), when expiry of March and issue of April are both due."""
    provider = create_provider(admin)
    elders = approved_elders(admin, ELDERS)
    with live_server.client(token=provider["api_key"]) as terminal:
        response = terminal.post(
            f"{API}/redemptions",
            json=redemption_body(elders[0]["id"], amount_fen=3_000),
            headers={"Idempotency-Key": "march-spend"},
        )
    assert response.status_code == 201, response.text
    set_clock(admin, APRIL_START)
    return elders


def stale_lease_of_a_dead_scheduler() -> None:
    from app.db import session_scope
    from app.models.jobs import SchedulerLease
    from app.scheduler import LEASE_NAME

    with session_scope() as session:
        session.add(
            SchedulerLease(
                name=LEASE_NAME,
                holder="dead-host:4242:deadbeef",
                expires_at=datetime.now(UTC) - timedelta(minutes=5),
            )
        )


def assert_month_start_done_once(admin, elders: list[dict], ticks: list[list[dict]]) -> None:
    # Exactly one scheduler did the work; the other found the lease taken and did nothing.
    worked = [tick for tick in ticks if tick]
    assert len(worked) == 1, ticks
    assert sorted((job["job"], job["month"]) for job in worked[0] if job["job"] in MONTH_START_JOBS) == [
        ("expire", "2026-03"),
        ("issue", "2026-04"),
    ], worked
    runs = job_runs(admin)
    succeeded = sorted(
        (r["job"], r["period"]) for r in runs if r["status"] == "succeeded" and r["job"] in MONTH_START_JOBS
    )
    assert succeeded == [("expire", "2026-03"), ("issue", "2026-04")], runs
    # Any other scheduled job (the daily ones) also ran once, by the same lease holder.
    others = Counter(r["job"] for r in runs if r["job"] not in MONTH_START_JOBS)
    assert all(count == 1 for count in others.values()), runs
    issue_run = next(r for r in runs if r["job"] == "issue")
    assert issue_run["counts"]["issued"] == len(elders), issue_run
    expire_run = next(r for r in runs if r["job"] == "expire")
    assert expire_run["counts"]["expired"] == len(elders), expire_run
    assert expire_run["counts"]["released_fen"] == len(elders) * FACE_VALUE_FEN - 1_500

    for elder in elders:
        april = vouchers_of(admin, elder["id"], "2026-04")
        assert len(april) == 1, april
        assert april[0]["balance_fen"] == FACE_VALUE_FEN and april[0]["status"] == "active"
        march = vouchers_of(admin, elder["id"], "2026-03")
        assert [(v["status"], v["balance_fen"]) for v in march] == [("expired", 0)], march
    assert scalar("SELECT count(*) FROM vouchers WHERE status = 'active'") == len(elders)
    assert scalar("SELECT count(*) FROM vouchers") == 2 * len(elders)
    assert_ledger_ok(admin)


@pytest.mark.parametrize("lease", ["no-lease-yet", "stale-lease-of-a-dead-holder"])
def test_two_scheduler_processes_at_month_start_do_the_work_once(
    service_env, admin, march_with_vouchers, lease
):
    if lease == "stale-lease-of-a-dead-holder":
        stale_lease_of_a_dead_scheduler()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCHEDULER_SCRIPT, f"scheduler-process-{n}"],
            cwd=REPO_ROOT,
            env=service_process_env(service_env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    # A scheduler that hangs is killed, which also ends any read below (EOF).
    watchdog = threading.Timer(SCHEDULER_SECONDS, lambda: [p.kill() for p in processes])
    watchdog.start()
    try:
        for process in processes:
            line = process.stdout.readline()
            assert line.strip() == "ready", (
                line,
                process.stderr.read() if process.poll() is not None else "",
            )
        for process in processes:  # "go" to both, back to back
            process.stdin.write("go\n")
            process.stdin.flush()
        outputs = []
        for process in processes:
            out, err = process.communicate(timeout=SCHEDULER_SECONDS)
            assert process.returncode == 0, err
            outputs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        watchdog.cancel()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    assert_month_start_done_once(admin, march_with_vouchers, outputs)


def test_two_scheduler_threads_at_month_start_do_the_work_once(service_env, admin, march_with_vouchers):
    barrier = threading.Barrier(2, timeout=BARRIER_SECONDS)

    def tick(holder: str) -> list[dict]:
        barrier.wait()
        return one_tick(holder)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(tick, f"scheduler-thread-{n}") for n in (1, 2)]
        ticks = [f.result(timeout=SCHEDULER_SECONDS) for f in futures]

    assert_month_start_done_once(admin, march_with_vouchers, ticks)


@pytest.mark.parametrize("callers", [2, 6])
def test_concurrent_issue_requests_for_one_month_issue_each_voucher_once(
    live_server, admin, march_with_vouchers, callers
):
    issue = (None, lambda client: client.post(f"{API}/jobs/issue", json={"month": "2026-04"}))
    results = fire_together(live_server, [issue] * callers)

    assert_no_server_errors(results, live_server)
    assert all(r.status == 200 for r in results), summary(results)
    assert sum(r.body["issued"] for r in results) == ELDERS, [r.body for r in results]
    for elder in march_with_vouchers:
        assert len(vouchers_of(admin, elder["id"], "2026-04")) == 1
    assert scalar("SELECT count(*) FROM vouchers") == 2 * ELDERS
    runs = [r for r in job_runs(admin) if r["job"] == "issue" and r["period"] == "2026-04"]
    assert len(runs) == callers and all(r["status"] == "succeeded" for r in runs), runs
    assert sum(r["counts"]["issued"] for r in runs) == ELDERS, runs
    assert_ledger_ok(admin)


def test_point_of_service_racing_the_issue_job_at_midnight_issues_each_voucher_once(
    live_server, admin, march_with_vouchers
):
    """Issue 12 item 5: at 00:00 on April 1st every elder's first service races the month-start
    job (twice). Each April voucher exists once and is journaled once, whoever inserted it, and
    every service is paid from it."""
    provider = create_provider(admin)
    served = "2026-04-01T00:00:01+08:00"

    def service(elder_id: str, key: str):
        body = redemption_body(elder_id, amount_fen=2_000, served_at=served)
        return lambda client: client.post(f"{API}/redemptions", json=body, headers={"Idempotency-Key": key})

    issue = (None, lambda client: client.post(f"{API}/jobs/issue", json={"month": "2026-04"}))
    services = [
        (provider["api_key"], service(e["id"], f"midnight-{n}")) for n, e in enumerate(march_with_vouchers)
    ]
    results = fire_together(live_server, [issue, *services, issue])

    assert_no_server_errors(results, live_server)
    assert all(r.status in (200, 201) for r in results), summary(results)
    for elder in march_with_vouchers:
        [april] = vouchers_of(admin, elder["id"], "2026-04")
        assert (april["balance_fen"], april["valid_from"]) == (
            FACE_VALUE_FEN - 1_000,
            "2026-04-01T00:00:00+08:00",
        )
    issued_lines = scalar(
        "SELECT count(*) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id "
        "JOIN vouchers v ON v.id = l.voucher_id WHERE e.kind = 'issue' AND v.month = :april",
        april="2026-04-01",
    )
    assert issued_lines == ELDERS
    assert_ledger_ok(admin)


@pytest.mark.parametrize("callers", [2, 6])
def test_concurrent_expire_requests_release_each_balance_once(
    live_server, admin, march_with_vouchers, callers
):
    expire = (None, lambda client: client.post(f"{API}/jobs/expire", json={"month": "2026-03"}))
    results = fire_together(live_server, [expire] * callers)

    assert_no_server_errors(results, live_server)
    assert all(r.status == 200 for r in results), summary(results)
    assert sum(r.body["expired"] for r in results) == ELDERS, [r.body for r in results]
    assert sum(r.body["released_fen"] for r in results) == ELDERS * FACE_VALUE_FEN - 1_500
    # One district, so one expire entry: a second run finds nothing left to release.
    assert scalar("SELECT count(*) FROM journal_entries WHERE kind = 'expire'") == 1
    assert scalar("SELECT sum(balance_fen) FROM vouchers") == 0
    assert_ledger_ok(admin)


# SQLite's busy timeout is the retryable failure a test can cause on demand (another
# connection holding the write lock); the PostgreSQL retry path is the same code.
@pytest.mark.backends("sqlite")
def test_issue_request_retried_after_a_busy_database_answers_what_it_committed(
    service_env, live_server, admin
):
    """A request whose first transaction lost to a busy database is retried (app.routing); the
    retry commits, so the answer must be the retry's 200, not an error for a job that ran."""
    import sqlite3
    import time

    from sqlalchemy.engine import make_url

    approved_elders(admin, 1)
    blocker = sqlite3.connect(make_url(service_env).database, isolation_level=None, timeout=5)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, held past the busy timeout (30 s)

        def issue() -> str:
            with live_server.client() as client:
                try:
                    response = client.post(f"{API}/jobs/issue", json={"month": "2026-03"})
                except httpx.HTTPError as error:
                    return f"no answer ({type(error).__name__}: {error})"
                return f"{response.status_code} {response.text}"

        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(issue)
            deadline = time.monotonic() + 45
            while "retrying /api/v1/jobs/issue" not in live_server.log_path.read_text() and (
                time.monotonic() < deadline and not pending.done()
            ):
                time.sleep(0.2)
            blocker.execute("ROLLBACK")  # the retry goes through
            answer = pending.result(timeout=60)
    finally:
        blocker.close()

    runs = [r for r in job_runs(admin) if r["job"] == "issue"]
    assert [r["status"] for r in runs] == ["succeeded"], runs  # the retry committed its run
    assert_ledger_ok(admin)
    assert answer.startswith("200 ") and f'"job_run_id":{runs[0]["id"]}' in answer, (
        f"the retried request committed job run {runs[0]['id']} but answered: {answer}"
        f"\n--- server log ---\n{live_server.log_tail(12)}"
    )
