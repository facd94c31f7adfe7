"""Server time of every dashboard page on PostgreSQL, for a district-month of 100,000 posted
redemptions. Target: each page's p95 server time < 300 ms (``Server-Timing: app;dur=<ms>``).

    bench/dashboard [--redemptions 100000] [--clock 2026-06-08T10:00:00+08:00] [--month YYYY-MM]
                    [--repeat 20] [--warmup 2] [--target-ms 300] [--keep-db] …  (--help for all)

Steps: scratch database + Alembic migrations; a set-based load with bench/dataset.py (the loader
of bench/settlement, "catalogue" shape: home amounts inside the catalogue's reference range,
services 08:00–17:59 Beijing, planted price and night anomalies):
- district 110105 with --providers stations/institutions and --redemptions posted redemptions in
  --month (default: the month before the --clock month), evidence for 90 % of them, reversed
  ones and another district's as noise;
- the month before it (--previous redemptions, its batch built) and the clock's month up to the
  clock (--current redemptions, vouchers active);
then, through the services, with the sandbox clock frozen at --clock: the nightly anomaly scan
of the month (app.anomalies.service.scan_month; --dismiss-share of the warnings dismissed), the
redemption audit samples of both months (app.audits.service.draw_sample) with --findings
findings (record_finding), --rectifications open rectification orders (open_rectification), the
month's settlement batch (app.settlements.service.build_batch); VACUUM ANALYZE.
A district_civil officer of the district (app.staff.service.create_staff) is signed in
(app.auth.sessions.start_session): the session cookie.

Measured: a real ``uvicorn app.main:app`` process (--workers, default 1) with the sandbox clock
on and frozen at --clock. Each page is requested with httpx and the cookie, --warmup times and
then --repeat times, one request at a time; for each the Server-Timing server time and the
client's wall time. Pages: the overview of the month and of the clock's month; the batch list, the
month's batch, its provider with the most items (page 1 and the last page); the month's open
anomalies (page 1 and the last page); the audit samples, the month's sample; the providers. A page
answering 404 is "missing", any other status "error". PASS: every page answers 200 with a p95
server time under --target-ms.

Then each page once more in this process (fastapi TestClient, same database and clock) with
every SQL statement timed (SQLAlchemy cursor events): statements per page, SQL time, sandbox
clock reads. For a page over the target (or with a p95 of at least --diagnose-ms): its
statements by time, EXPLAIN (ANALYZE, BUFFERS) of the slowest, and a cProfile of one request.
--page PATH measures more pages. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    CpuMeter,
    PgServer,
    add_pg_arguments,
    children_of,
    exit_cleanly_on_sigterm,
    idle_check,
    point_app_at,
    postgres_backends_of,
    postgres_other_pids,
    print_block,
    print_server_settings,
    run_sql,
)
from dataset import (  # noqa: E402
    OTHER_DISTRICT,
    add_dataset_arguments,
    check_dataset_arguments,
    load_elders,
    load_month,
    load_providers,
)

DEFAULT_CLOCK = "2026-06-08T10:00:00+08:00"  # a Monday morning, a week into the month after
SESSION_COOKIE = "voucher_session"  # app.dashboard.web.SESSION_COOKIE
PREFIX = "/dashboard"


# --- the data set ----------------------------------------------------------------------------
def load(engine, args, month, previous, current, clock_at, face) -> float:
    elders = -(-max(args.redemptions, args.previous, args.current) // args.per_elder) + -(
        -args.noise_reversed // args.per_elder
    )
    seconds = load_providers(engine, args)
    seconds += load_elders(
        engine, month, {args.district: elders, OTHER_DISTRICT: -(-args.noise_other // args.per_elder)}
    )
    common = {"shape": "catalogue", "evidence": args.evidence_share}
    if args.previous:
        seconds += load_month(
            engine, previous, face, args, posted=args.previous, reversed_=0, other=args.noise_other, **common
        )
    seconds += load_month(
        engine,
        month,
        face,
        args,
        posted=args.redemptions,
        reversed_=args.noise_reversed,
        other=args.noise_other,
        **common,
    )
    seconds += load_month(
        engine,
        current,
        face,
        args,
        posted=args.current,
        reversed_=0,
        other=0,
        open_until=clock_at,
        voucher_elders=elders,  # every approved elder holds this month's voucher
        **common,
    )
    return seconds


def timed(label: str):
    """Print a setup step's time."""

    class Step:
        def __enter__(self):
            self.t0 = time.perf_counter()
            return self

        def __exit__(self, *exc):
            if exc[0] is None:
                print(
                    f"  {time.perf_counter() - self.t0:6.1f} s  {label}{getattr(self, 'note', '')}",
                    flush=True,
                )

    return Step()


def supervision_data(args, month, previous, caller) -> dict:
    """Anomalies, audit samples with findings, settlement batches: through the services, as the
    officers and the nightly jobs would have made them (sandbox clock frozen at --clock)."""
    from sqlalchemy import select

    from app import clock
    from app.anomalies.service import scan_month
    from app.audits import service as audits
    from app.db import get_engine, session_scope
    from app.models.audits import AuditSampleUnit
    from app.models.providers import Provider
    from app.models.redemptions import Redemption
    from app.sanctions import service as sanctions
    from app.settlements import service as settlements

    made: dict = {}
    if args.previous:
        with timed(f"settlement batch of {previous} (build_batch)"), session_scope() as session:
            made["previous_batch"] = str(
                settlements.build_batch(session, caller, district_code=args.district, month=previous).id
            )
    with timed(f"anomaly scan of {month} (scan_month, both districts)") as step, session_scope() as session:
        found = scan_month(session, month, district_codes=[args.district, OTHER_DISTRICT]).found
        step.note = ": " + ", ".join(f"{rule}={n:,}" for rule, n in found.items() if n)
    if args.dismiss_share > 0:
        # Some warnings already looked at, as in a district that works its list (set-based).
        run_sql(
            get_engine(),
            f"anomalies dismissed ({100 * args.dismiss_share:.0f}% of the month's)",
            "UPDATE anomalies SET status = 'dismissed', resolved_at = :at, resolved_by = 'bench', "
            "resolution_note = '已核实,服务真实' WHERE district_code = :d AND month = :m "
            "AND (hashtext(subject_key) & 1023) < :share",
            {
                "at": clock.now(),
                "d": args.district,
                "m": month.first_day,
                "share": round(1024 * args.dismiss_share),
            },
        )
    for sample_month in (previous, month) if args.previous else (month,):
        with (
            timed(f"redemption audit sample of {sample_month} (draw_sample)") as step,
            session_scope() as session,
        ):
            drawn = audits.draw_sample(
                session, caller, district_code=args.district, month=sample_month, kind="redemption"
            )
            sample = drawn.sample
            step.note = f": population {sample.population:,}, drawn {sample.sample_size:,}"
            made[f"sample {sample_month}"] = str(sample.id)
    made["sample"] = made[f"sample {month}"]
    if args.findings:
        recorded = 0
        outcomes = ("genuine", "poor_quality", "low_satisfaction", "genuine")
        with timed(f"audit findings on the {month} sample (record_finding)") as step:
            try:
                with session_scope() as session:
                    sample = audits.get_visible_sample(session, caller, made["sample"])
                    elders = session.scalars(
                        select(AuditSampleUnit.elder_id)
                        .where(AuditSampleUnit.sample_id == sample.id, AuditSampleUnit.drawn.is_(True))
                        .order_by(AuditSampleUnit.draw_position)
                        .limit(args.findings)
                    ).all()
                    for n, elder_id in enumerate(elders):
                        outcome = outcomes[n % len(outcomes)]
                        redemption = session.scalar(
                            select(Redemption.id)
                            .where(
                                Redemption.elder_id == elder_id,
                                Redemption.month == month.first_day,
                                Redemption.status == "posted",
                            )
                            .order_by(Redemption.served_at)
                            .limit(1)
                        )
                        audits.record_finding(
                            session,
                            caller,
                            sample,
                            elder_id=str(elder_id),
                            outcome=outcome,
                            note="上门核实:服务已提供" if outcome == "genuine" else "老人反映服务质量一般",
                            redemption_ids=[str(redemption)] if outcome != "genuine" else [],
                        )
                        recorded += 1
                step.note = f": {recorded} findings"
            except Exception as error:  # the services are being changed: report, go on
                step.note = f": SKIPPED ({type(error).__name__}: {error})"
    if args.rectifications:
        with timed("rectification orders (open_rectification)") as step:
            try:
                with session_scope() as session:
                    chosen = session.scalars(
                        select(Provider)
                        .where(Provider.district_code == args.district)
                        .order_by(Provider.credit_code)
                        .limit(args.rectifications)
                    ).all()
                    opened = 0
                    for provider in chosen:
                        if sanctions.open_rectification(
                            session,
                            caller,
                            provider,
                            reason="抽查发现服务记录不完整,限期整改",
                            working_days=None,
                        ):
                            opened += 1
                step.note = f": {opened} open orders"
            except Exception as error:  # the services are being changed: report, go on
                step.note = f": SKIPPED ({type(error).__name__}: {error})"
    with timed(f"settlement batch of {month} (build_batch)"), session_scope() as session:
        batch = settlements.build_batch(session, caller, district_code=args.district, month=month)
        made["batch"] = str(batch.id)
    return made


DATASET_SIZE = """
SELECT
  (SELECT count(*) FROM redemptions WHERE district_code = :d AND month = :m AND status = 'posted'),
  (SELECT count(*) FROM redemptions WHERE district_code = :d AND month = :cm AND status = 'posted'),
  (SELECT count(*) FROM redemptions),
  (SELECT count(*) FROM elders WHERE district_code = :d),
  (SELECT count(*) FROM providers WHERE district_code = :d),
  (SELECT count(*) FROM settlement_items WHERE batch_id = :b),
  (SELECT count(*) FROM settlement_batches WHERE district_code = :d),
  (SELECT count(*) FROM anomalies WHERE district_code = :d AND month = :m AND status = 'open'),
  (SELECT count(*) FROM anomalies WHERE district_code = :d AND month = :m),
  (SELECT count(*) FROM audit_sample_units WHERE sample_id = :s),
  (SELECT count(*) FROM audit_sample_units WHERE sample_id = :s AND drawn),
  (SELECT count(*) FROM audit_findings)
"""


# --- the pages -------------------------------------------------------------------------------
@dataclass
class Page:
    name: str
    path: str
    statuses: list[int] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    size_kb: float = 0.0
    note: str = ""
    # in-process run
    statements: list[tuple[float, str, object]] = field(default_factory=list)
    inprocess_ms: float | None = None
    clock_reads: int = 0
    clock_ms: float = 0.0

    @property
    def status(self) -> int | None:
        return self.statuses[-1] if self.statuses else None

    @property
    def outcome(self) -> str:
        if not self.statuses:
            return "error"
        bad = [s for s in self.statuses if s != 200]
        if not bad:
            return "ok"
        return "missing" if bad[0] == 404 else "error"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def pages_for(made: dict, month, provider_id: str, last_page: int, anomaly_pages: int) -> list[Page]:
    return _review_pages(made, month, provider_id, last_page, anomaly_pages) + _workbench_pages(
        made, month, provider_id
    )


def _workbench_pages(made: dict, month, provider_id: str) -> list[Page]:
    """The district's daily work (issue 15): elders, redemptions filtered, one warning."""
    redemption_pages = made["redemption_pages"]
    return [
        Page("elders", "/elders"),
        Page("elders pending", "/elders?status=pending"),
        Page("elders by name", f"/elders?q={made['elder_name'][:1]}"),
        Page("elder detail", f"/elders/{made['elder']}"),
        Page(f"redemptions {month}", f"/redemptions?month={month}"),
        Page(
            f"redemptions {month}, page {redemption_pages}",
            f"/redemptions?month={month}&page={redemption_pages}",
        ),
        Page(f"redemptions {month}, missing evidence", f"/redemptions?month={month}&evidence=missing"),
        Page(
            f"redemptions {month}, a provider's item 11",
            f"/redemptions?month={month}&provider={provider_id}&item=11",
        ),
        Page("providers searched", "/providers?q=%E7%AB%99"),
        Page("anomaly detail", f"/anomalies/{made['anomaly']}"),
    ]


def _review_pages(made: dict, month, provider_id: str, last_page: int, anomaly_pages: int) -> list[Page]:
    batch = made["batch"]
    return [
        Page(f"overview {month}", f"/?month={month}"),
        Page("overview (current month)", "/"),
        Page("settlements", "/settlements"),
        Page("settlement batch", f"/settlements/{batch}"),
        Page("batch provider, page 1", f"/settlements/{batch}/providers/{provider_id}"),
        Page(
            f"batch provider, page {last_page}",
            f"/settlements/{batch}/providers/{provider_id}?page={last_page}",
        ),
        Page(f"anomalies {month}", f"/anomalies?month={month}"),
        Page(f"anomalies {month}, page {anomaly_pages}", f"/anomalies?month={month}&page={anomaly_pages}"),
        Page("audits", "/audits"),
        Page("audit sample", f"/audits/{made['sample']}"),
        Page("providers", "/providers"),
    ]


def server_timing(header: str | None) -> float | None:
    """'app;dur=12.3' -> 12.3"""
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name == "app":
            for param in params.split(";"):
                key, _, value = param.strip().partition("=")
                if key == "dur":
                    return float(value)
    return None


def measure(base_url: str, cookie: str, pages: list[Page], args) -> None:
    import httpx

    headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
    with httpx.Client(
        base_url=base_url + PREFIX, headers=headers, timeout=120.0, follow_redirects=False
    ) as client:
        for page in pages:
            for n in range(args.warmup + args.repeat):
                t0 = time.perf_counter()
                try:
                    response = client.get(page.path)
                except httpx.HTTPError as error:
                    page.statuses.append(0)
                    page.note = f"{type(error).__name__}: {error}"
                    break
                client_ms = 1000 * (time.perf_counter() - t0)
                if response.status_code != 200:
                    page.statuses.append(response.status_code)
                    page.note = {
                        303: f"redirect to {response.headers.get('location')}",
                        404: "page not found",
                    }.get(response.status_code, "")
                    break  # missing or failing: no point in timing it
                page.size_kb = len(response.content) / 1024
                if n < args.warmup:
                    continue
                page.statuses.append(200)
                page.client_ms.append(client_ms)
                timing = server_timing(response.headers.get("server-timing"))
                if timing is None:
                    page.note = "no Server-Timing header"
                else:
                    page.server_ms.append(timing)
            print(f"  {page.name}: {page.outcome}", flush=True)


def verdict(page: Page, target_ms: float) -> str:
    if page.outcome != "ok":
        return page.outcome.upper()
    if not page.server_ms:
        return "ERROR"
    return "PASS" if percentile(page.server_ms, 0.95) < target_ms else "FAIL"


def figures_table(pages: list[Page], target_ms: float) -> list[str]:
    width = max(34, *(len(page.name) for page in pages))
    head = (
        f"  {'page':{width}s} {'p50':>7s} {'p95':>7s} {'max':>7s}  {'client p50':>10s}  {'status':>6s}  "
        f"{'HTML KB':>7s}  {'SQL stmts':>9s} {'SQL ms':>7s}  result"
    )
    out = [
        f"  server ms (Server-Timing app;dur); client ms = request wall time in httpx; SQL = the same page once "
        f"in-process, every statement timed; target: p95 < {target_ms:g} ms",
        head,
        "  " + "-" * (len(head) - 2),
    ]
    for page in pages:

        def ms(v: float) -> str:
            return f"{v:7.1f}" if v == v else f"{'—':>7s}"

        sql = (
            f"{len(page.statements):9d} {sum(d for d, _s, _p in page.statements):7.1f}"
            if page.inprocess_ms is not None
            else f"{'—':>9s} {'—':>7s}"
        )
        out.append(
            f"  {page.name:{width}s} {ms(percentile(page.server_ms, 0.5))} {ms(percentile(page.server_ms, 0.95))} "
            f"{ms(max(page.server_ms) if page.server_ms else float('nan'))}  "
            f"{ms(percentile(page.client_ms, 0.5)):>10s}  {page.status or '—':>6}  {page.size_kb:7.1f}  {sql}  "
            f"{verdict(page, target_ms)}" + (f"  ({page.note})" if page.note and page.outcome != "ok" else "")
        )
    return out


# --- the same pages in-process, statements timed ---------------------------------------------
class StatementLog:
    """Every statement of the app's engines with its time and parameters, while ``page`` is set."""

    def __init__(self, *engines) -> None:
        from sqlalchemy import event

        self.page: Page | None = None
        self._started: dict[int, float] = {}
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._before)
            event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        elapsed = 1000 * (time.perf_counter() - self._started.pop(id(cursor), time.perf_counter()))
        if self.page is None:
            return
        self.page.statements.append((elapsed, statement, params))


def in_process(pages: list[Page], cookie: str) -> None:
    from fastapi.testclient import TestClient

    from app import clock
    from app.db import get_engine, get_side_engine
    from app.main import app

    log = StatementLog(get_engine(), get_side_engine())
    # The sandbox clock's reads, timed whole: each opens its own connection (a pool-less engine).
    frozen_instant = clock._frozen_instant

    def timed_frozen_instant():
        t0 = time.perf_counter()
        try:
            return frozen_instant()
        finally:
            if log.page is not None:
                log.page.clock_reads += 1
                log.page.clock_ms += 1000 * (time.perf_counter() - t0)

    clock._frozen_instant = timed_frozen_instant
    client = TestClient(app, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, follow_redirects=False)
    try:
        for page in pages:
            if page.outcome != "ok":
                continue
            client.get(PREFIX + page.path)  # warm (plans, template compiled)
            log.page = page
            response = client.get(PREFIX + page.path)
            log.page = None
            page.inprocess_ms = server_timing(response.headers.get("server-timing"))
    finally:
        clock._frozen_instant = frozen_instant


def statement_label(statement: str, width: int = 150) -> str:
    return " ".join(statement.split())[:width]


def explain(engine, statement: str, params) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured statement, in a transaction rolled back."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        try:
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params or None)
                return [row[0] for row in cursor.fetchall()]
        except Exception as error:
            return [f"(EXPLAIN failed: {type(error).__name__}: {error})"]
        finally:
            raw.rollback()


def profile_page(page: Page, cookie: str, top: int) -> list[str]:
    """cProfile of one request served entirely in this thread: the ASGI app called from an event
    loop here (httpx.ASGITransport), with anyio's worker-thread hop (sync endpoints and
    dependencies) replaced by a direct call for the duration."""
    import asyncio

    import anyio.to_thread
    import httpx

    from app.main import app

    async def inline(func, *args, **_kwargs):
        return func(*args)

    async def request():
        transport = httpx.ASGITransport(app=app)
        headers = {"Cookie": f"{SESSION_COOKIE}={cookie}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as client:
            await client.get(PREFIX + page.path)  # warm
            profiler.enable()
            response = await client.get(PREFIX + page.path)
            profiler.disable()
            return response

    profiler = cProfile.Profile()
    original = anyio.to_thread.run_sync
    anyio.to_thread.run_sync = inline
    try:
        response = asyncio.run(request())
    finally:
        anyio.to_thread.run_sync = original
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"(/app/|jinja2|sqlalchemy/engine|psycopg)", top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    return [
        f"  {total}; Server-Timing {server_timing(response.headers.get('server-timing'))} ms (status "
        f"{response.status_code}; the profiler slows Python down)",
        *("  " + line.replace(str(ROOT) + "/", "") for line in lines[start:]),
    ]


def diagnose(engine, page: Page, cookie: str, args) -> list[str]:
    total_sql = sum(d for d, _s, _p in page.statements)
    out = [
        f"  {page.path}",
        f"  in-process: {page.inprocess_ms or float('nan'):.1f} ms server time, {len(page.statements)} SQL statements "
        f"taking {total_sql:.1f} ms (sandbox clock reads: {page.clock_reads}, {page.clock_ms:.1f} ms)",
    ]
    by_text: dict[str, list] = defaultdict(lambda: [0, 0.0])
    for elapsed, statement, _params in page.statements:
        entry = by_text[statement_label(statement, 110)]
        entry[0] += 1
        entry[1] += elapsed
    out.append("  statements by total time (count, ms):")
    for label, (count, ms) in sorted(by_text.items(), key=lambda kv: -kv[1][1])[:10]:
        out.append(f"    {count:4d} {ms:8.1f}  {label}")
    slowest = sorted(page.statements, key=lambda s: -s[0])[: args.explain_top]
    for elapsed, statement, params in slowest:
        if elapsed < args.explain_min_ms:
            break
        out.append("")
        out.append(f"  -- {elapsed:.1f} ms: {statement_label(statement, 400)}")
        out.append(f"  -- parameters: {params!r}"[:400])
        out += [
            "  " + (line if len(line) <= 240 else line[:240] + " …")
            for line in explain(engine, statement, params)
        ]
    out.append("")
    out.append(f"  cProfile of one in-process request (cumulative, top {args.profile_top}):")
    out += profile_page(page, cookie, args.profile_top)
    return out


# --- the server ------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``python -m uvicorn app.main:app`` on a free loopback port, sandbox clock on."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-dashboard-uvicorn-", suffix=".log", delete=False)
        env = {
            **os.environ,
            "VOUCHER_DATABASE_URL": url,
            "VOUCHER_SCHEDULER__ENABLED": "false",
            "VOUCHER_SANDBOX_CLOCK": "true",
            "VOUCHER_ENVIRONMENT": "development",
            "VOUCHER_ADMIN_TOKEN": "bench-" + secrets.token_hex(16),
            "VOUCHER_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{self.log_text()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"uvicorn not ready after {timeout} s:\n{self.log_text()}")

    def log_text(self, lines: int = 60) -> str:
        self.log.flush()
        return "\n".join(Path(self.log.name).read_text(errors="replace").splitlines()[-lines:])

    def error_lines(self) -> list[str]:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return [line for line in text if "ERROR" in line or "Traceback" in line]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the supervisor stops its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=15)
        self.log.close()
        os.unlink(self.log.name)


# --- main ------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_dataset_arguments(parser, redemptions=100_000, noise_other=20_000, noise_reversed=2_000)
    parser.add_argument(
        "--clock",
        default=DEFAULT_CLOCK,
        help=f"the sandbox clock, ISO 8601 with offset (default {DEFAULT_CLOCK})",
    )
    parser.add_argument(
        "--month", default=None, help="the data month (default: the month before the clock's)"
    )
    parser.add_argument(
        "--current",
        type=int,
        default=None,
        help="redemptions of the clock's month so far (default: --redemptions x the share of the month elapsed)",
    )
    parser.add_argument(
        "--price-every", type=int, default=50, help="every n-th priced above reference (anomaly)"
    )
    parser.add_argument("--night-every", type=int, default=97, help="every n-th served at 23:xx (anomaly)")
    parser.add_argument(
        "--dismiss-share", type=float, default=0.1, help="share of the warnings already dismissed"
    )
    parser.add_argument(
        "--findings", type=int, default=40, help="audit findings recorded on the month's sample"
    )
    parser.add_argument(
        "--rectifications", type=int, default=5, help="providers with an open rectification order"
    )
    parser.add_argument("--repeat", type=int, default=20, help="measured requests per page (default 20)")
    parser.add_argument(
        "--warmup", type=int, default=2, help="unmeasured requests per page first (default 2)"
    )
    parser.add_argument("--target-ms", type=float, default=300.0, help="p95 server-time target (default 300)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument("--explain-top", type=int, default=3, help="statements EXPLAINed per failing page")
    parser.add_argument("--explain-min-ms", type=float, default=5.0, help="only statements slower than this")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        metavar="PATH",
        help="also measure this dashboard path (repeatable)",
    )
    parser.add_argument(
        "--diagnose-ms",
        type=float,
        default=None,
        help="also diagnose passing pages whose p95 is at least this (default: --target-ms)",
    )
    parser.add_argument(
        "--explain-all", action="store_true", help="diagnose every page, not only failing ones"
    )
    add_pg_arguments(parser)
    args = parser.parse_args()
    check_dataset_arguments(args)
    exit_cleanly_on_sigterm()

    from app.rules.months import Month

    clock_at = datetime.fromisoformat(args.clock)
    if clock_at.tzinfo is None:
        raise SystemExit("--clock needs a UTC offset, e.g. 2026-06-08T10:00:00+08:00")
    current = Month.containing(clock_at)
    month = Month.parse(args.month) if args.month else current.previous()
    if month >= current:
        raise SystemExit(f"--month {month} must have ended at the clock ({clock_at.isoformat()})")
    previous = month.previous()
    if args.current is None:
        elapsed = (clock_at - current.starts_at()) / (current.ends_at() - current.starts_at())
        args.current = int(args.redemptions * elapsed)

    pg = PgServer(args)
    name = f"voucher_bench_{os.getpid()}"
    t_start = time.perf_counter()
    print(
        f"dashboard benchmark: district {args.district}, {args.redemptions:,} posted redemptions in {month}, "
        f"{previous} {args.previous:,}, {current} {args.current:,} so far; sandbox clock {clock_at.isoformat()}; "
        f"{os.cpu_count()} cores, PostgreSQL {pg.host}:{pg.port}, scratch database {name}",
        flush=True,
    )
    print(idle_check(), flush=True)

    with pg.scratch_database(name) as url:
        from sqlalchemy import text

        from app.auth.principal import Principal, Role
        from app.auth.sessions import start_session
        from app.config import get_settings
        from app.db import get_engine, session_scope
        from app.migrate import upgrade
        from app.reference.service import policy_for_month
        from app.sandbox import service as sandbox
        from app.staff.service import create_staff

        upgrade(url)
        point_app_at(url, VOUCHER_SANDBOX_CLOCK="true")
        engine = get_engine()
        print_server_settings(engine)
        with session_scope() as session:
            sandbox.freeze(session, clock_at, actor="bench")
            face = policy_for_month(session, month).monthly_cap_fen

        print("load (set-based, bench/dataset.py):", flush=True)
        load_s = load(engine, args, month, previous, current, clock_at, face)
        load_s += run_sql(engine, "VACUUM ANALYZE", "VACUUM ANALYZE", autocommit=True)
        print(
            f"supervision and settlement data (services, sandbox clock {clock_at.isoformat()}):", flush=True
        )
        t0 = time.perf_counter()
        with session_scope() as session:
            officer, _token = create_staff(
                session,
                name="压测民政科员",
                role=Role.DISTRICT_CIVIL,
                district_code=args.district,
                created_by=Principal(role=Role.CITY_ADMIN, subject_id="bench"),
            )
            caller = Principal(
                role=Role.DISTRICT_CIVIL, subject_id=str(officer.id), district_code=args.district
            )
        made = supervision_data(args, month, previous, caller)
        with session_scope() as session:
            cookie, _row = start_session(session, officer)
        services_s = time.perf_counter() - t0
        run_sql(engine, "VACUUM ANALYZE", "VACUUM ANALYZE", autocommit=True)

        with engine.connect() as conn:
            size = conn.execute(
                text(DATASET_SIZE),
                {
                    "d": args.district,
                    "m": month.first_day,
                    "cm": current.first_day,
                    "b": made["batch"],
                    "s": made["sample"],
                },
            ).one()
            provider_id, items = conn.execute(
                text(
                    "SELECT provider_id, count(*) FROM settlement_items WHERE batch_id = :b "
                    "GROUP BY provider_id ORDER BY count(*) DESC, provider_id LIMIT 1"
                ),
                {"b": made["batch"]},
            ).one()
            sizes = conn.execute(
                text(
                    "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE relname IN "
                    "('redemptions', 'redemption_evidence', 'vouchers', 'elders', 'settlement_items', 'anomalies', "
                    "'audit_sample_units') ORDER BY relname"
                )
            ).all()
            db_size = conn.execute(
                text("SELECT pg_size_pretty(pg_database_size(current_database()))")
            ).scalar()
            elder = conn.execute(
                text("SELECT id, name FROM elders WHERE district_code = :d ORDER BY id LIMIT 1"),
                {"d": args.district},
            ).one()
            made["elder"], made["elder_name"] = str(elder.id), elder.name
            made["anomaly"] = str(
                conn.execute(
                    text("SELECT id FROM anomalies WHERE district_code = :d ORDER BY id LIMIT 1"),
                    {"d": args.district},
                ).scalar()
            )
        page_size = get_settings().dashboard.page_size
        last_page = max(1, -(-items // page_size))
        made["redemption_pages"] = max(1, -(-size[0] // page_size))
        print_block(
            "dataset",
            [
                f"  load {load_s:.1f} s, services {services_s:.1f} s; database {db_size}: "
                + ", ".join(f"{n} {s}" for n, s in sizes),
                f"  {args.district} {month}: {size[0]:,} posted redemptions; {current} so far: {size[1]:,}; "
                f"redemptions table {size[2]:,} rows",
                f"  {size[3]:,} elders and {size[4]:,} providers in {args.district}",
                f"  settlement batch {made['batch']}: {size[5]:,} items ({size[6]} batches of the district); provider "
                f"with the most items {provider_id}: {items:,} items = {last_page} pages of {page_size}",
                f"  anomalies of {month}: {size[7]:,} open of {size[8]:,}",
                f"  audit sample {made['sample']}: {size[9]:,} elders in the population, {size[10]:,} drawn; "
                f"{size[11]} findings",
            ],
        )

        pages = pages_for(made, month, str(provider_id), last_page, max(1, -(-size[7] // page_size)))
        pages += [Page(path, path) for path in args.page]
        server = Server(url, args.workers)
        try:
            server.wait_ready()
            print(
                f"\nserver: uvicorn on {server.base} ({args.workers} worker(s), pid {server.proc.pid}), sandbox clock "
                f"frozen at {clock_at.isoformat()}; {args.warmup} warm-up + {args.repeat} measured requests per page, "
                "one at a time ...",
                flush=True,
            )
            print(idle_check(), flush=True)
            cpu = CpuMeter(
                {
                    "uvicorn (server)": lambda: [server.proc.pid, *children_of(server.proc.pid)],
                    f"postgres backends of {name}": postgres_backends_of(name),
                    "postgres background + other databases": postgres_other_pids(name),
                }
            )
            cpu.start()
            measure(server.base, cookie, pages, args)
            cpu.stop()
            errors = server.error_lines()
        finally:
            server.stop()

        print("in-process pass (statements timed) ...", flush=True)
        in_process(pages, cookie)
        print_block("pages", figures_table(pages, args.target_ms))
        print_block(
            "CPU during the measured requests",
            cpu.lines(sum(len(p.statuses) for p in pages), unit="request"),
        )
        clock_lines = [
            f"  {p.name}: {p.clock_reads} reads, {p.clock_ms:.1f} ms"
            for p in pages
            if p.inprocess_ms is not None
        ]
        print_block(
            "sandbox clock reads per page (in-process, app.clock._frozen_instant timed whole: each opens a new connection; sandbox deployments only)",
            clock_lines,
        )
        if errors:
            print_block("server log: ERROR lines", ["  " + line for line in errors[:40]])

        diagnose_ms = args.target_ms if args.diagnose_ms is None else args.diagnose_ms
        failing = [
            p
            for p in pages
            if p.statements
            and (
                args.explain_all
                or verdict(p, args.target_ms) == "FAIL"
                or percentile(p.server_ms, 0.95) >= diagnose_ms
            )
        ]
        for page in failing:
            print_block(
                f"diagnosis: {page.name} ({verdict(page, args.target_ms)})",
                diagnose(engine, page, cookie, args),
            )
        engine.dispose()

        passed = all(verdict(p, args.target_ms) == "PASS" for p in pages)
        counts = defaultdict(int)
        for page in pages:
            counts[verdict(page, args.target_ms)] += 1
        print_block(
            "result",
            [
                f"  {len(pages)} pages: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
                f"  {'PASS' if passed else 'FAIL'} (every page 200 with p95 server time < {args.target_ms:g} ms)",
            ]
            + (
                [
                    f"  WARNING: other processes used {100 * cpu.foreign_share:.0f}% of the machine's CPU during the "
                    "measured requests: the figures are disturbed"
                ]
                if cpu.foreign_share > 0.05
                else []
            ),
        )
    kept = f"scratch database {name} kept (--keep-db)" if args.keep_db else "scratch database dropped"
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s; {kept}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
