"""Settlement build at district scale on PostgreSQL: one district-month of 1,000,000 posted
redemptions turned into a batch by ``app.settlements.service.build_batch``. Target: < 10 s.

    bench/settlement [--redemptions 1000000] [--providers 200] [--per-elder 10] [--month 2026-05]
                     [--district 110105] [--evidence-share 0.9] [--noise-other 100000]
                     [--noise-reversed 20000] [--previous 100000] [--timeout 300]
                     [--explain] [--explain-ms 250] [--keep-db]

Steps: scratch database + Alembic migrations; a set-based load (INSERT … SELECT FROM
generate_series, no rows through Python):
- the district's providers (3 stations to 1 institution), and as many in a second district;
- approved elders (--per-elder redemptions each) with one voucher per month, expired as after
  the month-end job;
- the month's redemptions: home/community items at 50 %, institutional care at 40 %, every
  column satisfying the CHECK constraints, at most 70,000 fen per voucher;
- the evidence files of --evidence-share of them (the three kinds their category requires; the
  rest are flagged missing at build);
- noise the build must leave out: --noise-other posted redemptions of another district in the
  same month, --noise-reversed reversed ones of the district;
- the previous month with --previous redemptions, settled first (its batch built, untimed), so
  that settlement_items is not empty, as in production after the first month. --previous 0 is
  the first settlement ever (see bench/README.md: the planner then picks a quadratic plan).
Then VACUUM ANALYZE (as autovacuum would have done during the month) and CHECKPOINT.

Timed: ``build_batch`` inside one ``app.db.session_scope()`` (commit included), real clock (the
month is over), with statement_timeout --timeout. Printed: the wall seconds, every SQL
statement's time, the CPU of this process and of the PostgreSQL backend, the peak Python memory,
the batch's totals checked against a direct aggregate of the redemptions, and the time of
shaping the GET response (``app.settlements.summaries.batch_summary``). The plan of every statement over
--explain-ms is captured as it ran (auto_explain; with --explain also ANALYZE timings) and printed
on FAIL. On FAIL without --explain the build is also run once more with EXPLAIN ANALYZE in a
transaction that is rolled back. A statement cancelled by the timeout is EXPLAINed. The scratch
database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CpuMeter,
    PgServer,
    add_pg_arguments,
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

TARGET_SECONDS = 10.0

EXPECTED = """
SELECT count(*), count(DISTINCT elder_id), count(DISTINCT provider_id), sum(amount_fen),
       sum(deduction_fen)
FROM redemptions WHERE district_code = :d AND month = :month_start AND status = 'posted'
"""


# The redemptions that lack a required kind, counted from the evidence files themselves (not
# from the evidence_complete flag the build copies), to check what the batch flags.
EXPECTED_MISSING = """
SELECT count(*) FROM redemptions r
WHERE r.district_code = :d AND r.month = :month_start AND r.status = 'posted'
  AND (SELECT count(DISTINCT e.kind) FROM redemption_evidence e
       WHERE e.redemption_id = r.id
         AND e.kind IN (CASE r.category WHEN 'institution' THEN 'residence_agreement' ELSE 'receipt' END,
                        'service_record', 'redemption_proof')) < 3
"""


def statement_label(statement: str) -> str:
    text = " ".join(statement.split())
    for pattern, label in (
        (
            r"^INSERT INTO settlement_items",
            "INSERT INTO settlement_items … SELECT … FROM redemptions",
        ),
        (r"^INSERT INTO settlement_lines", "INSERT INTO settlement_lines … SELECT … GROUP BY provider"),
        (r"^INSERT INTO settlement_batches", "INSERT INTO settlement_batches"),
        (r"^INSERT INTO settlement_events", "INSERT INTO settlement_events"),
        (
            r"^SELECT count\(\*\) AS count_1, count\(DISTINCT",
            "SELECT totals … FROM settlement_items JOIN redemptions",
        ),
        (r"^UPDATE settlement_batches", "UPDATE settlement_batches (totals, funding)"),
        (r"^SAVEPOINT|^RELEASE SAVEPOINT", "SAVEPOINT / RELEASE"),
        (r"FROM calendar_overrides", "SELECT calendar_overrides"),
        (r"FROM districts", "SELECT districts"),
        (r"FROM policy_rules|FROM program_periods", "SELECT policy"),
    ):
        if re.search(pattern, text):
            return label
    return text[:90]


class Recorder:
    """Times every SQL statement of the engine, remembers the one running (to EXPLAIN it when it
    is cancelled by the statement timeout) and collects auto_explain notices."""

    def __init__(self, engine) -> None:
        from sqlalchemy import event

        self.active = False
        self.statements: dict[str, list] = defaultdict(lambda: [0, 0.0])
        self.plans: list[str] = []
        self.running: tuple[str, object] | None = None
        self._started: dict[int, float] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        self._started[id(cursor)] = time.perf_counter()
        if self.active:
            self.running = (statement, params)

    def _after(self, conn, cursor, statement, params, context, executemany):
        elapsed = time.perf_counter() - self._started.pop(id(cursor), time.perf_counter())
        if self.active and not statement.startswith(("LOAD 'auto_explain'", "SET LOCAL ")):
            entry = self.statements[statement_label(statement)]
            entry[0] += 1
            entry[1] += elapsed

    def notice(self, diagnostic) -> None:
        if diagnostic.message_primary:
            self.plans.append(diagnostic.message_primary)


def auto_explain(session, min_ms: int, *, analyze: bool) -> None:
    from sqlalchemy import text

    flag = "on" if analyze else "off"
    for setting in (
        "LOAD 'auto_explain'",
        f"SET LOCAL auto_explain.log_min_duration = '{min_ms}ms'",
        f"SET LOCAL auto_explain.log_analyze = {flag}",
        f"SET LOCAL auto_explain.log_timing = {flag}",
        f"SET LOCAL auto_explain.log_triggers = {flag}",
        f"SET LOCAL auto_explain.log_buffers = {flag}",
        "SET LOCAL auto_explain.log_level = 'notice'",
    ):
        session.execute(text(setting))


def plan_lines(plans: list[str]) -> list[str]:
    out = []
    for plan in plans:
        out += ["  " + line for line in plan.splitlines() if line.strip()]
        out.append("")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_dataset_arguments(parser, redemptions=1_000_000, noise_other=100_000, noise_reversed=20_000)
    parser.add_argument("--month", default="2026-05", help="an ended month of the program (default 2026-05)")
    parser.add_argument(
        "--timeout", type=int, default=300, help="statement_timeout of the timed build, s (300)"
    )
    parser.add_argument("--explain", action="store_true", help="always run the EXPLAIN ANALYZE pass")
    parser.add_argument("--explain-ms", type=int, default=250)
    add_pg_arguments(parser)
    args = parser.parse_args()
    check_dataset_arguments(args)
    exit_cleanly_on_sigterm()
    pg = PgServer(args)
    name = f"voucher_bench_{os.getpid()}"
    t_start = time.perf_counter()
    print(
        f"settlement benchmark: {args.redemptions:,} posted redemptions of district {args.district} in "
        f"{args.month}, {args.providers} providers, previous month settled with {args.previous:,} redemptions, "
        f"{os.cpu_count()} cores, PostgreSQL {pg.host}:{pg.port}, scratch database {name}",
        flush=True,
    )
    print(idle_check(), flush=True)

    with pg.scratch_database(name) as url:
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        from app import clock
        from app.auth.principal import Principal, Role
        from app.db import get_engine, make_session, session_scope
        from app.migrate import upgrade
        from app.models.settlements import SettlementBatch
        from app.reference.service import policy_for_month
        from app.rules.months import Month
        from app.settlements import service
        from app.settlements.summaries import batch_summary

        month = Month.parse(args.month)
        if clock.now() < month.ends_at():
            raise SystemExit(f"{month} is not over yet in real time: choose an ended month")
        upgrade(url)
        point_app_at(url)
        engine = get_engine()
        print_server_settings(engine)
        with session_scope() as session:
            face = policy_for_month(session, month).monthly_cap_fen
        caller = Principal(role=Role.DISTRICT_CIVIL, subject_id="bench", district_code=args.district)

        # --- load ------------------------------------------------------------------------------
        print("load (set-based, INSERT … SELECT FROM generate_series):", flush=True)
        load_s = load_providers(engine, args)
        elders = -(-max(args.redemptions, args.previous) // args.per_elder) + -(
            -args.noise_reversed // args.per_elder
        )
        load_s += load_elders(
            engine, month, {args.district: elders, OTHER_DISTRICT: -(-args.noise_other // args.per_elder)}
        )
        if args.previous:
            previous = month.previous()
            load_s += load_month(
                engine, previous, face, args, posted=args.previous, reversed_=0, other=0, evidence=0
            )
            t0 = time.perf_counter()
            with session_scope() as session:
                service.build_batch(session, caller, district_code=args.district, month=previous)
            print(
                f"  {time.perf_counter() - t0:6.1f} s  previous month's batch ({previous}) built", flush=True
            )
        load_s += load_month(
            engine,
            month,
            face,
            args,
            posted=args.redemptions,
            reversed_=args.noise_reversed,
            other=args.noise_other,
            evidence=args.evidence_share,
        )
        load_s += run_sql(engine, "VACUUM ANALYZE (as autovacuum would have during the month)", "VACUUM ANALYZE",
                          autocommit=True)  # fmt: skip
        with engine.connect() as conn:
            sizes = conn.execute(
                text(
                    "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE relname IN "
                    "('redemptions', 'redemption_evidence', 'vouchers', 'elders', 'settlement_items') ORDER BY relname"
                )
            ).all()
            stats = conn.execute(
                text("SELECT relpages, reltuples FROM pg_class WHERE relname = 'settlement_items'")
            ).one()
            expected = conn.execute(
                text(EXPECTED), {"d": args.district, "month_start": month.first_day}
            ).one()
            expected_missing = conn.execute(
                text(EXPECTED_MISSING), {"d": args.district, "month_start": month.first_day}
            ).scalar_one()
        print(f"  load total {load_s:.1f} s; sizes: " + ", ".join(f"{n} {s}" for n, s in sizes), flush=True)
        print(
            f"  planner statistics of settlement_items: relpages={stats[0]}, reltuples={stats[1]:.0f}",
            flush=True,
        )
        assert expected[0] == args.redemptions, expected

        # --- the timed build ---------------------------------------------------------------------
        recorder = Recorder(engine)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))
        cpu = CpuMeter({
            f"postgres backends of {name}": postgres_backends_of(name),
            "postgres background (WAL writer, checkpointer …) + other databases": postgres_other_pids(name),
        })  # fmt: skip
        print(
            f"build: app.settlements.service.build_batch(district_code={args.district!r}, month={month}) in one "
            f"session_scope(), real clock {clock.now():%Y-%m-%d %H:%M}, statement_timeout {args.timeout} s ...",
            flush=True,
        )
        tracemalloc.start()
        recorder.active = True
        cpu.start()
        t0 = time.perf_counter()
        timed_out = None
        commit_s = 0.0
        try:
            with session_scope() as session:
                session.execute(text(f"SET LOCAL statement_timeout = '{args.timeout}s'"))
                # The plan of every statement over --explain-ms, as it ran (plan only unless
                # --explain: auto_explain without ANALYZE adds no instrumentation).
                timed_raw = session.connection().connection.driver_connection
                timed_raw.add_notice_handler(recorder.notice)
                auto_explain(session, args.explain_ms, analyze=args.explain)
                batch = service.build_batch(session, caller, district_code=args.district, month=month)
                t_flushed = time.perf_counter()
                batch_id = batch.id
            commit_s = time.perf_counter() - t_flushed
        except OperationalError as error:
            if "statement timeout" not in str(error):
                raise
            timed_out = recorder.running
        build_s = time.perf_counter() - t0
        timed_raw.remove_notice_handler(recorder.notice)
        timed_plans, recorder.plans = recorder.plans, []
        cpu.stop()
        recorder.active = False
        python_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        build_statements = dict(recorder.statements)

        lines = [
            f"  wall {build_s:7.2f} s  (SQL statements {sum(s for _c, s in build_statements.values()):.2f} s, "
            f"COMMIT {commit_s:.2f} s)"
            + (f"  CANCELLED by statement_timeout = {args.timeout} s" if timed_out else ""),
            f"  CPU: this Python process {cpu.result['this process (client)']:.2f} s; "
            + "; ".join(f"{k} {v:.1f} s" for k, v in cpu.result.items() if k != "this process (client)"),
            f"  Python memory: tracemalloc peak {python_peak_mb:.2f} MB (no redemption passes through Python)",
            "  SQL statements that completed (count, seconds):",
        ]
        for label, (count, seconds) in sorted(build_statements.items(), key=lambda kv: -kv[1][1]):
            lines.append(f"    {count:4d}  {seconds:8.2f} s  {label}")
        if timed_out:
            lines.append(f"  cancelled: {statement_label(timed_out[0])}")
        print_block("build", lines)

        exact = False
        if not timed_out:
            # --- what it built -------------------------------------------------------------------
            t0 = time.perf_counter()
            with session_scope(write=False) as session:
                shown = batch_summary(session, session.get(SettlementBatch, batch_id)).model_dump()
            shape_s = time.perf_counter() - t0
            totals, funding = shown["totals"], shown["funding"]
            exact = (
                totals["redemptions"] == expected[0]
                and totals["elders"] == expected[1]
                and totals["providers"] == expected[2]
                and totals["amount_fen"] == expected[3]
                and totals["deduction_fen"] == expected[4]
                and totals["payable_fen"] == expected[4]
                and sum(line["payable_fen"] for line in shown["lines"]) == expected[4]
                and sum(line["redemptions"] for line in shown["lines"]) == expected[0]
                and sum(funding.values()) == totals["payable_fen"]
                and shown["missing_evidence"] == expected_missing
            )
            print_block("batch", [
                f"  id {shown['id']}  status {shown['status']}  deadlines {shown['deadlines']}",
                "  totals: " + ", ".join(f"{k}={v:,}" for k, v in totals.items()),
                "  funding: " + ", ".join(f"{k}={v:,}" for k, v in funding.items())
                + f"  (sum {sum(funding.values()):,})",
                f"  lines: {len(shown['lines'])} providers; missing evidence: {shown['missing_evidence']:,} redemptions "
                f"(from the evidence files: {expected_missing:,})",
                f"  expected from the redemptions table: redemptions={expected[0]:,}, elders={expected[1]:,}, "
                f"providers={expected[2]:,}, amount_fen={expected[3]:,}, deduction_fen={expected[4]:,} "
                f"-> {'exact' if exact else 'MISMATCH'}",
                f"  shaping the GET /settlements/{{id}} response (summaries.batch_summary): {shape_s:.2f} s",
            ])  # fmt: skip
        passed = build_s < TARGET_SECONDS and exact and not timed_out

        # --- plans -----------------------------------------------------------------------------
        if timed_out:
            # The statement never finished: its plan (EXPLAIN without ANALYZE, same statistics).
            statement, params = timed_out
            with engine.connect() as conn:
                raw = conn.connection.driver_connection
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN " + statement, params)
                    plan = [row[0] for row in cursor.fetchall()]
                conn.rollback()
            print_block("EXPLAIN of the cancelled statement (the plan it ran with)",
                        ["  " + " ".join(statement.split())[:400], *["  " + line for line in plan]])  # fmt: skip
        if timed_plans and (not passed or args.explain):
            title = "EXPLAIN ANALYZE" if args.explain else "EXPLAIN (the plan it ran with; no ANALYZE)"
            print_block(
                f"timed build: {title} of the statements over {args.explain_ms} ms (auto_explain)",
                plan_lines(timed_plans),
            )
        if not timed_out and not passed and not args.explain:
            print(
                "explain: the same build once more with auto_explain ANALYZE, in a transaction rolled back "
                "(the planner now sees the pages the first build left in settlement_items: its plan can differ) ...",
                flush=True,
            )
            session = make_session(write=True)
            try:
                for table, column in (
                    ("settlement_events", "batch_id"),
                    ("settlement_lines", "batch_id"),
                    ("settlement_items", "batch_id"),
                    ("settlement_batches", "id"),
                ):
                    session.execute(text(f"DELETE FROM {table} WHERE {column} = :b"), {"b": batch_id})
                raw = session.connection().connection.driver_connection
                raw.add_notice_handler(recorder.notice)
                auto_explain(session, args.explain_ms, analyze=True)
                t0 = time.perf_counter()
                service.build_batch(session, caller, district_code=args.district, month=month)
                explain_s = time.perf_counter() - t0
                raw.remove_notice_handler(recorder.notice)
            finally:
                session.rollback()
                session.close()
            print_block(
                "re-run: EXPLAIN ANALYZE (auto_explain) of the slow statements",
                [f"  (instrumented re-run {explain_s:.2f} s)", *plan_lines(recorder.plans)],
            )
        engine.dispose()

        verdict = "PASS" if build_s < TARGET_SECONDS and not timed_out else "FAIL"
        print_block("result", [
            f"  build_batch of {args.redemptions:,} redemptions: "
            + (f"did not finish in {build_s:.0f} s (statement_timeout)" if timed_out else f"{build_s:.2f} s")
            + f" ({verdict}: < {TARGET_SECONDS:g} s)",
            "  totals " + ("reconcile exactly with the redemptions table" if exact else "NOT CHECKED / DO NOT reconcile"),
            f"  {'PASS' if passed else 'FAIL'}",
        ])  # fmt: skip
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s; scratch database dropped")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
