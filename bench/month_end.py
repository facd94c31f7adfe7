"""Month-end jobs at city scale on PostgreSQL: issue and expire one month's vouchers for
1,000,000 approved elders, against a plain INSERT … SELECT of the same rows.

    bench/month_end [--elders 1000000] [--month 2026-05] [--explain]

Steps: scratch database + Alembic migrations; N approved elders bulk-loaded with one
INSERT … SELECT FROM generate_series (unique 18-character ID numbers, not checksum-valid), then
VACUUM ANALYZE as autovacuum would; the baseline (CREATE TABLE vouchers_baseline (LIKE vouchers
INCLUDING ALL) and one INSERT … SELECT … FROM elders); app.jobs.service.run_issue (with the
sandbox clock frozen at 00:05 on the month's 1st, when the scheduler runs it: the service only
issues the current month) and then run_expire (sandbox clock off: the real clock says the month
is over), each in its own app.db.session_scope(); ledger verify. Each timed step starts after a CHECKPOINT; its wall seconds, the peak memory of this
process (getrusage ru_maxrss, the step's own peak RSS, tracemalloc's peak), the CPU of this
process against the CPU of the PostgreSQL backend, and the time of every SQL statement are
printed. --explain also logs EXPLAIN ANALYZE of every statement over 250 ms (auto_explain; its
timing instrumentation slows the run a little). The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import tracemalloc
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CpuMeter,
    PgServer,
    add_pg_arguments,
    exit_cleanly_on_sigterm,
    idle_check,
    maxrss_mb,
    point_app_at,
    postgres_backends_of,
    postgres_other_pids,
    print_block,
    reset_peak_rss,
    vm_hwm_mb,
)

TARGET_RATIO = 3.0
TARGET_MEMORY_MB = 200.0
DISTRICTS = [
    "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
    "110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
    "110400",
]  # fmt: skip

LOAD_ELDERS = """
INSERT INTO elders (
    id, district_code, name, id_number, birth_date, residency, disability_level, assessed_on,
    benefits, status, eligible, ineligible_reasons, eligibility_checked_on, created_at,
    created_by, approved_at
)
SELECT
    gen_random_uuid(),
    (:districts ::text[])[1 + g % 17],
    '压测老人' || g,
    -- 18 characters, unique: the district code and the serial (no valid check character)
    (:districts ::text[])[1 + g % 17] || lpad(g::text, 12, '0'),
    date '1936-01-01' + (g % 10000),
    (ARRAY['beijing_hukou', 'beijing_hukou', 'beijing_hukou', 'residence_permit',
           'institution_resident'])[1 + g % 5],
    (ARRAY['moderate', 'severe', 'complete'])[1 + g % 3],
    date '2026-01-01' + (g % 100),
    CASE WHEN g % 7 = 0 THEN '["ltci"]'::json ELSE '[]'::json END,
    'approved',
    true,
    '[]'::json,
    date '2026-04-30',
    now() - interval '200 days',
    'bench',
    now() - interval '199 days'
FROM generate_series(1, :n) AS g
"""

BASELINE = """
INSERT INTO vouchers_baseline (
    id, district_code, elder_id, kind, month, face_value_fen, balance_fen, status,
    valid_from, valid_until, issued_at, issue_job_run_id
)
SELECT gen_random_uuid(), district_code, id, 'monthly', :month, :face, :face, 'active',
       :valid_from, :valid_until, now(), NULL
FROM elders
WHERE status = 'approved'
"""


@dataclass
class Step:
    name: str
    seconds: float = 0.0
    ru_maxrss_mb: float = 0.0
    step_peak_rss_mb: float = 0.0
    tracemalloc_peak_mb: float = 0.0
    python_cpu_s: float = 0.0
    cpu: CpuMeter | None = None
    statements: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))
    plans: list[str] = field(default_factory=list)
    result: object = None

    @property
    def sql_seconds(self) -> float:
        return sum(total for _count, total in self.statements.values())


def statement_label(statement: str) -> str:
    text = " ".join(statement.split())
    for pattern, label in (
        (r"^INSERT INTO vouchers_baseline", "INSERT INTO vouchers_baseline … SELECT … FROM elders"),
        (r"^INSERT INTO vouchers .*SELECT", "INSERT INTO vouchers … SELECT … FROM elders WHERE NOT EXISTS"),
        (
            r"^INSERT INTO journal_lines .*SELECT",
            "INSERT INTO journal_lines … SELECT … FROM vouchers (per district)",
        ),
        (r"^INSERT INTO journal_lines", "INSERT INTO journal_lines VALUES (balancing line)"),
        (r"^INSERT INTO journal_entries", "INSERT INTO journal_entries (per district)"),
        (r"^SELECT coalesce\(sum\(journal_lines", "SELECT sum(journal_lines.amount_fen) (per district)"),
        (r"^UPDATE vouchers SET status", "UPDATE vouchers SET status='expired' … (all of the month)"),
        (r"^SELECT DISTINCT vouchers.district_code", "SELECT DISTINCT district_code FROM vouchers"),
        (r"^SELECT vouchers.district_code, count", "SELECT district_code, count(*) … GROUP BY"),
        (r"^SELECT count\(\*\) AS count_1 FROM vouchers", "SELECT count(*) FROM vouchers (already issued)"),
    ):
        if re.search(pattern, text):
            return label
    return text[:90]


class Recorder:
    """Times every SQL statement of the engine and collects auto_explain notices."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.step: Step | None = None
        self.started: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, params, context, executemany):
        self.started[id(cursor)] = time.perf_counter()

    def after(self, conn, cursor, statement, params, context, executemany):
        elapsed = time.perf_counter() - self.started.pop(id(cursor), time.perf_counter())
        if self.step is not None and not statement.startswith(
            ("LOAD 'auto_explain'", "SET LOCAL auto_explain")
        ):
            entry = self.step.statements[statement_label(statement)]
            entry[0] += 1
            entry[1] += elapsed

    def notice(self, diagnostic) -> None:
        if self.step is not None and diagnostic.message_primary:
            self.step.plans.append(diagnostic.message_primary)


def checkpoint(engine) -> None:
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))


@contextmanager
def timed(step: Step, recorder: Recorder, database: str, explain: bool, explain_ms: int = 250):
    """Wall time, memory and CPU of one step; yields a fresh session_scope()."""
    from sqlalchemy import text

    from app.db import session_scope

    checkpoint(recorder.engine)
    reset_peak_rss()
    cpu = CpuMeter({
        f"postgres backends of {database}": postgres_backends_of(database),
        "postgres background (WAL writer, checkpointer …) + other databases": postgres_other_pids(database),
    })  # fmt: skip
    tracemalloc.start()
    recorder.step = step
    cpu.start()
    t0 = time.perf_counter()
    with session_scope() as session:
        if explain:
            raw = session.connection().connection.driver_connection
            raw.add_notice_handler(recorder.notice)
            for setting in (
                "LOAD 'auto_explain'",
                f"SET LOCAL auto_explain.log_min_duration = '{explain_ms}ms'",
                "SET LOCAL auto_explain.log_analyze = on",
                "SET LOCAL auto_explain.log_timing = on",
                "SET LOCAL auto_explain.log_triggers = on",
                "SET LOCAL auto_explain.log_buffers = on",
                "SET LOCAL auto_explain.log_level = 'notice'",
            ):
                session.execute(text(setting))
        yield session
    step.seconds = time.perf_counter() - t0
    cpu.stop()
    recorder.step = None
    step.cpu = cpu
    step.tracemalloc_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    step.ru_maxrss_mb = maxrss_mb()
    step.step_peak_rss_mb = vm_hwm_mb()
    step.python_cpu_s = cpu.result["this process (client)"]
    if explain:
        raw.remove_notice_handler(recorder.notice)


@contextmanager
def sandbox_clock_at(instant):
    """Enable the sandbox clock frozen at ``instant`` in this process; off again afterwards."""
    from app.config import get_settings
    from app.db import session_scope
    from app.sandbox import service as sandbox

    os.environ["VOUCHER_SANDBOX_CLOCK"] = "true"
    get_settings.cache_clear()
    try:
        with session_scope() as session:
            sandbox.freeze(session, instant, actor="bench")
        yield
    finally:
        with session_scope() as session:
            sandbox.unfreeze(session)
        os.environ["VOUCHER_SANDBOX_CLOCK"] = "false"
        get_settings.cache_clear()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--elders", type=int, default=1_000_000, help="approved elders (default 1,000,000)")
    parser.add_argument("--month", default="2026-05", help="an ended month of the program (default 2026-05)")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="log EXPLAIN ANALYZE of the statements over --explain-ms (auto_explain)",
    )
    parser.add_argument("--explain-ms", type=int, default=250)
    add_pg_arguments(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    pg = PgServer(args)
    name = f"voucher_bench_{os.getpid()}"
    t_start = time.perf_counter()
    print(f"month-end benchmark: {args.elders:,} elders, month {args.month}, {os.cpu_count()} cores, "
          f"PostgreSQL {pg.host}:{pg.port}, scratch database {name}", flush=True)  # fmt: skip
    print(idle_check(), flush=True)
    rss_at_start = maxrss_mb()

    with pg.scratch_database(name) as url:
        from sqlalchemy import text

        from app import clock
        from app.config import get_settings
        from app.db import get_engine, session_scope
        from app.integrity.verify import verify
        from app.jobs.service import run_expire, run_issue
        from app.migrate import upgrade
        from app.reference.service import policy_for_month
        from app.rules.months import Month

        month = Month.parse(args.month)
        if clock.now() < month.ends_at():
            raise SystemExit(f"{month} is not over yet in real time: choose an ended month")
        upgrade(url)
        point_app_at(url)
        engine = get_engine()
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
            settings = {
                s: conn.execute(text(f"SHOW {s}")).scalar()
                for s in ("shared_buffers", "work_mem", "max_wal_size", "synchronous_commit")
            }
        print(f"PostgreSQL {version}; " + ", ".join(f"{k}={v}" for k, v in settings.items()), flush=True)

        t0 = time.perf_counter()
        with session_scope() as session:
            session.execute(text(LOAD_ELDERS), {"districts": DISTRICTS, "n": args.elders})
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE elders"))
            elders_size = conn.execute(
                text("SELECT pg_size_pretty(pg_total_relation_size('elders'))")
            ).scalar()
        vacuum_s = time.perf_counter() - t0
        print(f"setup: {args.elders:,} approved elders loaded in {load_s:.1f} s (one INSERT … SELECT "
              f"FROM generate_series), VACUUM ANALYZE {vacuum_s:.1f} s; elders table + indexes "
              f"{elders_size}", flush=True)  # fmt: skip

        recorder = Recorder(engine)
        with session_scope() as session:
            face = policy_for_month(session, month).monthly_cap_fen
            session.execute(text("CREATE TABLE vouchers_baseline (LIKE vouchers INCLUDING ALL)"))

        # 1. The baseline: the same rows, one plain INSERT … SELECT, same indexes, no journal.
        baseline = Step("baseline")
        print("baseline: INSERT INTO vouchers_baseline … SELECT … FROM elders ...", flush=True)
        with timed(baseline, recorder, name, args.explain, args.explain_ms) as session:
            inserted = session.execute(
                text(BASELINE),
                {"month": month.first_day, "face": face,
                 "valid_from": month.starts_at(), "valid_until": month.ends_at()},
            ).rowcount  # fmt: skip
        assert inserted == args.elders, inserted
        with session_scope() as session:
            session.execute(text("DROP TABLE vouchers_baseline"))

        # 2. Issue, by the monthly job, as the scheduler runs it: at 00:05 on the 1st of the
        # month (the service only issues the current month), i.e. with the sandbox clock frozen
        # there for this step only.
        issue = Step("issue")
        issue_at = month.starts_at() + timedelta(minutes=5)
        print(f"issue: app.jobs.service.run_issue (sandbox clock frozen at {issue_at.isoformat()}) ...",
              flush=True)  # fmt: skip
        with sandbox_clock_at(issue_at):
            with timed(issue, recorder, name, args.explain, args.explain_ms) as session:
                issue.result, _run = run_issue(session, month, trigger="bench")
        assert issue.result.issued == args.elders, issue.result

        # 3. Expire, with the sandbox clock off: the real clock says the month is over.
        assert not get_settings().sandbox_clock
        expire = Step("expire")
        print("expire: app.jobs.service.run_expire ...", flush=True)
        with timed(expire, recorder, name, args.explain, args.explain_ms) as session:
            expire.result, _run = run_expire(session, month, trigger="bench")
        assert expire.result.expired == args.elders, expire.result
        assert expire.result.released_fen == args.elders * face, expire.result

        # 4. Ledger verify.
        print("ledger verify ...", flush=True)
        checkpoint(engine)
        t0 = time.perf_counter()
        with session_scope(write=False) as session:
            report = verify(session)
        verify_s = time.perf_counter() - t0

        with engine.connect() as conn:
            sizes = conn.execute(text(
                "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relname IN ('vouchers', 'journal_lines', 'journal_entries') ORDER BY relname"
            )).all()  # fmt: skip
        engine.dispose()

        passed = print_report(args, baseline, issue, expire, report, verify_s, sizes, rss_at_start)
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s; scratch database dropped")
    return 0 if passed else 1


def explain_lines(plans: list[str], threshold_ms: int) -> list[str]:
    """Each distinct statement's first plan in full; repeats (one per district) summarised."""
    groups: dict[str, list[tuple[float, str]]] = {}
    for plan in plans:
        match = re.search(r"duration: ([0-9.]+) ms", plan)
        query = re.search(r"Query Text:(.*?)(?:\n\s*\n|\n\S|\n  [A-Z])", plan, re.S)
        key = " ".join((query.group(1) if query else plan).split())[:160]
        groups.setdefault(key, []).append((float(match.group(1)) if match else 0.0, plan))
    out = []
    for items in groups.values():
        durations = [d for d, _ in items]
        if len(items) > 1:
            out.append(
                f"  [{len(items)} executions of this statement over {threshold_ms} ms, {sum(durations) / 1000:.2f} s "
                f"in all; the first one:]"
            )
        out += ["  " + line for line in items[0][1].splitlines() if line.strip()]
        out.append("")
    return out


def print_report(
    args, baseline: Step, issue: Step, expire: Step, report, verify_s, sizes, rss_at_start
) -> bool:
    for step in (baseline, issue, expire):
        lines = [
            f"  wall {step.seconds:7.2f} s   (SQL statements {step.sql_seconds:.2f} s, the rest is "
            f"COMMIT and Python: {step.seconds - step.sql_seconds:.2f} s)",
            f"  memory: ru_maxrss {step.ru_maxrss_mb:.0f} MB (process lifetime peak; "
            f"{rss_at_start:.0f} MB before any work), this step's peak RSS "
            f"{step.step_peak_rss_mb:.0f} MB, tracemalloc peak {step.tracemalloc_peak_mb:.2f} MB",
            f"  CPU: this Python process {step.python_cpu_s:.2f} s; "
            + "; ".join(f"{k} {v:.1f} s" for k, v in step.cpu.result.items() if k != "this process (client)"),
            "  SQL statements (count, seconds):",
        ]
        for label, (count, seconds) in sorted(step.statements.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"    {count:4d}  {seconds:8.2f} s  {label}")
        if step.result is not None:
            lines.append(f"  result: {step.result}")
        print_block(f"{step.name}", lines)
        if step.plans:
            print_block(
                f"{step.name}: EXPLAIN ANALYZE (auto_explain) of the statements over {args.explain_ms} ms",
                explain_lines(step.plans, args.explain_ms),
            )

    print_block("ledger verify (app.integrity.verify.verify)", [
        f"  ok={report.ok} entries={report.entries} lines={report.lines} "
        f"vouchers_checked={report.vouchers_checked} mismatches={len(report.mismatches)} "
        f"in {verify_s:.2f} s",
        *[f"    {m}" for m in report.mismatches[:5]],
        "  sizes: " + ", ".join(f"{name} {size}" for name, size in sizes),
    ])  # fmt: skip

    rows = []
    passed = report.ok
    for step in (issue, expire):
        ratio = step.seconds / baseline.seconds
        memory = max(step.ru_maxrss_mb, step.step_peak_rss_mb)
        ok_time = ratio <= TARGET_RATIO
        ok_memory = memory < TARGET_MEMORY_MB
        passed = passed and ok_time and ok_memory
        rows.append(
            f"  {step.name:6s} {step.seconds:7.2f} s = {ratio:4.2f} x baseline "
            f"({'PASS' if ok_time else 'FAIL'}: <= {TARGET_RATIO:g}x);  peak memory "
            f"{memory:.0f} MB ({'PASS' if ok_memory else 'FAIL'}: < {TARGET_MEMORY_MB:g} MB)"
        )
    python_share = sum(s.python_cpu_s for s in (issue, expire)) / sum(s.seconds for s in (issue, expire))
    print_block("result", [
        f"  baseline {baseline.seconds:7.2f} s (plain INSERT … SELECT of the same {args.elders:,} rows, "
        f"same indexes, no foreign keys, no journal)",
        *rows,
        f"  ledger verify ok={report.ok} in {verify_s:.2f} s",
        f"  the Python process used {100 * python_share:.1f}% of a core during issue + expire: "
        f"the work happens in PostgreSQL (set-based SQL, no rows in Python)",
        f"  {'PASS' if passed else 'FAIL'}",
    ])  # fmt: skip
    return passed


if __name__ == "__main__":
    sys.exit(main())
