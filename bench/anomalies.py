"""Nightly anomaly scan at district scale on PostgreSQL: every rule of app/rules/anomalies.py over
a month in which one district has 1,000,000 posted redemptions. Target: < 60 s.

    bench/anomalies [--redemptions 1000000] [--providers 200] [--per-elder 10] [--month 2026-05]
                    [--district 110105] [--previous-months 3] [--previous 1000000]
                    [--noise-other 100000] [--timeout 300] [--explain] [--explain-ms 1000] [--keep-db]

Steps: scratch database + Alembic migrations; a set-based load (INSERT … SELECT FROM
generate_series, no rows through Python):
- the district's providers (stations) and the same number in a second district, plus one
  provider per planted pattern;
- approved elders, each with an 'approved' status-change row, and one voucher per month;
- the month's ordinary redemptions (--per-elder per elder, on different days between 08:00 and
  17:59 Beijing, each provider with one fixed price per item inside the catalogue's reference
  range): none of them may raise a warning;
- --previous-months earlier months with --previous ordinary redemptions each (the baseline the
  price-jump rule ranks), and --noise-other ordinary redemptions of a second district;
- planted patterns, each meant to raise exactly the warnings counted in PLANTED: prices above
  the reference, night services, two providers 15 minutes apart, 13 services in a day, one
  provider draining 20 vouchers on the 1st (and another only 5: below the threshold), a price
  raised from 20,000 to 30,000 fen against last month's median, services after a suspension.
Then VACUUM ANALYZE (as autovacuum would have done during the month) and CHECKPOINT.

Timed: ``app.jobs.service.run_anomaly_scan`` (the code behind POST /jobs/anomaly-scan and
``voucher anomalies scan``) in one ``app.db.session_scope()`` (commit included), real clock
(the month is over), default thresholds, statement_timeout --timeout. Meanwhile a probe thread
runs a redemption's writes every 50 ms on its own connection (lock a voucher row, update it,
insert an anomaly row, roll back) and records how long each took: the scan must not block the
point of service. Then the scan runs again (it must find nothing new) and is timed too.
Printed: wall seconds, the time per rule (all districts), CPU of this process and of the
PostgreSQL backend, Python memory, the warnings found per rule against PLANTED, the probe's
latencies. With --explain the plans (EXPLAIN ANALYZE, auto_explain) of the statements over
--explain-ms are printed. PASS: first scan < 60 s, the counts exactly as planted, the rescan
finds nothing. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
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

TARGET_SECONDS = 60.0
OTHER_DISTRICT = "110108"

# Warnings each planted pattern must raise with the default thresholds (app.config.AnomalySettings).
PLANTED = {
    "PRICE_ABOVE_REFERENCE": 1000,
    "NIGHT_HOME_SERVICE": 1000,
    "OVERLAPPING_SERVICE": 500,
    "TOO_MANY_SERVICES_PER_DAY": 200,
    "FIRST_DAY_DRAIN": 1,
    "PRICE_JUMP": 1,
    "REDEEMED_AFTER_SUSPENSION": 100,
}

# Provider numbers after the ordinary ones (1 … --providers): one per planted pattern.
PLANTED_PROVIDERS = (
    "price",
    "night",
    "overlap_a",
    "overlap_b",
    "many",
    "drain",
    "drain_few",
    "jump",
    "suspended",
)

# Deterministic ids (md5(text)::uuid), so that rows name their elder, voucher and provider
# without a join.
LOAD_PROVIDERS = """
INSERT INTO providers (id, district_code, name, kind, credit_code, parent_id, status, api_key_hash,
                       created_at, created_by)
SELECT md5('provider-' || d || '-' || g)::uuid, d, '压测养老驿站' || g, 'station',
       '91' || d || 'MA' || lpad(g::text, 8, '0'), NULL, 'listed',
       encode(sha256(('bench-' || d || '-' || g)::bytea), 'hex'), now() - interval '300 days', 'bench'
FROM generate_series(1, CAST(:n AS integer)) AS g, (VALUES (:district), (:other)) AS t(d)
"""

LOAD_ELDERS = """
INSERT INTO elders (id, district_code, name, id_number, birth_date, residency, disability_level,
                    assessed_on, benefits, status, eligible, ineligible_reasons,
                    eligibility_checked_on, created_at, created_by, approved_at)
SELECT md5('elder-' || :d || '-' || g)::uuid, :d, '压测老人' || g,
       :d || lpad(g::text, 12, '0'),  -- 18 characters, unique (no valid check character)
       date '1936-01-01' + (g % 10000), 'beijing_hukou', 'severe', date '2026-01-01' + (g % 100),
       '[]'::json, 'approved', true, '[]'::json, date '2026-01-01',
       now() - interval '200 days', 'bench', now() - interval '199 days'
FROM generate_series(1, CAST(:n AS integer)) AS g
"""

# Every elder's approval, as the registry records it: the suspension rule reads this history.
LOAD_APPROVALS = """
INSERT INTO elder_status_changes (elder_id, district_code, from_status, to_status, reason, note,
                                  changed_by, changed_at)
SELECT md5('elder-' || :d || '-' || g)::uuid, :d, 'pending', 'approved', 'approved', NULL, 'bench',
       now() - interval '199 days'
FROM generate_series(1, CAST(:n AS integer)) AS g
"""

LOAD_VOUCHERS = """
INSERT INTO vouchers (id, district_code, elder_id, kind, month, face_value_fen, balance_fen,
                      status, valid_from, valid_until, issued_at, closed_at, issue_job_run_id)
SELECT md5('voucher-' || :d || '-' || :month_text || '-' || g)::uuid, :d,
       md5('elder-' || :d || '-' || g)::uuid, 'monthly', :month_start, 80000, 0, 'expired',
       :valid_from, :valid_until, :valid_from, :valid_until, NULL
FROM generate_series(1, CAST(:n AS integer)) AS g
"""

# A source subquery yields (g, e, p, item, amount, served_at, created_at): elder number, provider
# number; this turns it into redemptions satisfying every CHECK (50 %, no LTCI).
INSERT_REDEMPTIONS = """
INSERT INTO redemptions (id, district_code, month, voucher_id, elder_id, provider_id, item,
                         category, rate, amount_fen, ltci_paid_fen, eligible_fen, deduction_fen,
                         self_pay_fen, served_at, receipt_no, warnings, status, evidence_complete,
                         created_at, reversed_at)
SELECT gen_random_uuid(), CAST(:d AS text), :month_start,
       md5('voucher-' || CAST(:d AS text) || '-' || CAST(:month_text AS text) || '-' || e)::uuid,
       md5('elder-' || CAST(:d AS text) || '-' || e)::uuid, md5('provider-' || CAST(:d AS text) || '-' || p)::uuid,
       item, 'home_community', 0.500000, amount, 0, amount, round(amount * 0.5)::bigint,
       amount - round(amount * 0.5)::bigint, served_at,
       'R' || CAST(:label AS text) || '-' || CAST(:month_text AS text) || '-' || lpad(g::text, 10, '0'), '[]'::json, 'posted', false,
       created_at, NULL
FROM ({source}) AS s
"""

# Ordinary: elder e's k-th service on day (7e + 3k) mod (days in month), so one elder's services
# fall on different days (k < 10); 08:00–17:59 Beijing; two providers per elder alternating; a
# fixed price per provider and item inside the item's reference range.
ORDINARY = """
SELECT g, e, p, s.item,
       c.ref_price_min_fen + (p * 7919 + s.item * 104729) % (c.ref_price_max_fen - c.ref_price_min_fen + 1)
           AS amount,
       :valid_from + make_interval(days => ((e * 7 + k * 3) % :days)::integer,
                                   hours => (8 + g % 10)::integer, mins => (g % 60)::integer) AS served_at,
       :valid_from + make_interval(days => ((e * 7 + k * 3) % :days)::integer,
                                   hours => (8 + g % 10)::integer, mins => (g % 60)::integer)
           + interval '2 minutes' AS created_at
FROM (
    SELECT g, (g - 1) / :per_elder + 1 + :elder_offset AS e, (g - 1) % :per_elder AS k,
           1 + ((g - 1) / :per_elder + ((g - 1) % :per_elder % 2) * 7) % :providers AS p,
           (ARRAY[7, 11, 13, 22, 45, 46])[1 + (g % 6)::integer] AS item
    FROM generate_series(1::bigint, CAST(:n AS bigint)) AS g
) AS s
JOIN catalogue_items c ON c.item = s.item
"""


def planted_provider(providers: int, name: str) -> int:
    return providers + 1 + PLANTED_PROVIDERS.index(name)


def planted_sources(providers: int, first_elder: int) -> list[tuple[str, int, int, str, int]]:
    """(label, rows, elders, source SQL, first elder) of each planted pattern, on elders numbered
    from first_elder and providers after the ordinary ones."""
    p = {name.upper(): planted_provider(providers, name) for name in PLANTED_PROVIDERS}
    groups = [
        # label, rows, elders, e (from g), p, item, amount, served_at (from the month start)
        ("price", 1000, 1000, "g", p["PRICE"], 11, "45000", "make_interval(days => (g % 28)::integer, hours => 10)"),
        ("night", 1000, 1000, "g", p["NIGHT"], 11, "30000", "make_interval(days => (g % 28)::integer, hours => 23)"),
        ("overlap", 1000, 500, "(g + 1) / 2", f"CASE WHEN g % 2 = 1 THEN {p['OVERLAP_A']} ELSE {p['OVERLAP_B']} END",
         11, "30000", "make_interval(days => ((g + 1) / 2 % 28)::integer, hours => 10, mins => (15 * (1 - g % 2))::integer)"),
        ("many", 2600, 200, "(g - 1) / 13 + 1", p["MANY"], 7, "800",
         "make_interval(days => 9, hours => 8, mins => (40 * ((g - 1) % 13))::integer)"),
        ("drain", 25, 25, "g", f"CASE WHEN g <= 20 THEN {p['DRAIN']} ELSE {p['DRAIN_FEW']} END", 6, "160000",
         "make_interval(hours => 9, mins => g::integer)"),
        ("jump", 300, 30, "(g - 1) / 10 + 1", p["JUMP"], 11, "30000",
         "make_interval(days => (3 * ((g - 1) % 10))::integer, hours => 11)"),
        ("suspended", 100, 100, "g", p["SUSPENDED"], 11, "30000", "make_interval(days => 19, hours => 10)"),
    ]  # fmt: skip
    out = []
    elder = first_elder
    for label, rows, elders, e, provider, item, amount, offset in groups:
        source = (
            f"SELECT g, {elder - 1} + {e} AS e, {provider} AS p, {item} AS item, {amount} AS amount, "
            f":valid_from + {offset} AS served_at, :valid_from + {offset} + interval '1 minute' AS created_at "
            f"FROM generate_series(1, {rows}) AS g"
        )
        out.append((label, rows, elders, source, elder))
        elder += elders
    return out


def month_params(month) -> dict:
    return {
        "month_start": month.first_day,
        "month_text": str(month),
        "valid_from": month.starts_at(),
        "valid_until": month.ends_at(),
        "days": month.last_day.day,
    }


class RuleTimer:
    """Times every SQL statement, by the anomaly rule it inserts (a bound parameter names it)."""

    def __init__(self, engine, rules) -> None:
        from sqlalchemy import event

        self.rules = set(rules)
        self.active = False
        self.times: dict[str, list] = defaultdict(lambda: [0, 0.0])
        self._started: dict[int, float] = {}
        self.plans: list[str] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        elapsed = time.perf_counter() - self._started.pop(id(cursor), time.perf_counter())
        if not self.active or statement.startswith(("LOAD 'auto_explain'", "SET LOCAL ")):
            return
        values = params.values() if isinstance(params, dict) else ()
        rule = next((v for v in values if isinstance(v, str) and v in self.rules), None)
        label = f"INSERT INTO anomalies … {rule}" if rule else " ".join(statement.split())[:70]
        entry = self.times[label]
        entry[0] += 1
        entry[1] += elapsed

    def notice(self, diagnostic) -> None:
        if diagnostic.message_primary:
            self.plans.append(diagnostic.message_primary)


class Probe(threading.Thread):
    """A redemption's writes every 50 ms on a connection of its own: lock and update a voucher
    row, insert an anomaly row, roll back. Records each transaction's latency."""

    def __init__(self, url: str, voucher_id, district: str, month_start) -> None:
        super().__init__(daemon=True)
        self.url, self.voucher_id, self.district, self.month_start = url, voucher_id, district, month_start
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.error: Exception | None = None

    def run(self) -> None:
        import uuid

        import psycopg

        try:
            with psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql")) as conn:
                while not self.stop.wait(0.05):
                    t0 = time.perf_counter()
                    with conn.transaction(force_rollback=True):
                        conn.execute("SELECT id FROM vouchers WHERE id = %s FOR UPDATE", (self.voucher_id,))
                        conn.execute(
                            "UPDATE vouchers SET balance_fen = balance_fen WHERE id = %s", (self.voucher_id,)
                        )
                        conn.execute(
                            "INSERT INTO anomalies (id, district_code, month, rule, status, subject_key, evidence, "
                            "detected_at, detected_by) VALUES (%s, %s, %s, 'NIGHT_HOME_SERVICE', 'open', "
                            "%s, '{}'::json, now(), 'redemption') ON CONFLICT DO NOTHING",
                            (uuid.uuid4(), self.district, self.month_start, uuid.uuid4().hex),
                        )
                    self.latencies.append(time.perf_counter() - t0)
        except Exception as error:  # pragma: no cover - reported
            self.error = error

    def summary(self) -> str:
        if self.error:
            return f"probe failed: {self.error}"
        if not self.latencies:
            return "probe: no transactions"
        ms = sorted(1000 * s for s in self.latencies)
        return (
            f"{len(ms)} probe write transactions during the scan: p50 {statistics.median(ms):.1f} ms, "
            f"p99 {ms[min(len(ms) - 1, int(0.99 * len(ms)))]:.1f} ms, max {ms[-1]:.1f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--redemptions", type=int, default=1_000_000, help="posted redemptions of the district-month"
    )
    parser.add_argument("--providers", type=int, default=200, help="ordinary providers of the district (200)")
    parser.add_argument("--per-elder", type=int, default=10, choices=range(1, 11), metavar="1..10")
    parser.add_argument("--month", default="2026-05", help="an ended month of the program (2026-05)")
    parser.add_argument("--district", default="110105")
    parser.add_argument(
        "--previous-months", type=int, default=3, help="earlier months loaded (3: the price baseline)"
    )
    parser.add_argument(
        "--previous", type=int, default=None, help="redemptions of each earlier month (= --redemptions)"
    )
    parser.add_argument(
        "--noise-other", type=int, default=100_000, help=f"redemptions of {OTHER_DISTRICT} (100,000)"
    )
    parser.add_argument(
        "--timeout", type=int, default=300, help="statement_timeout of the timed scan, s (300)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE the slow statements of the scan"
    )
    parser.add_argument("--explain-ms", type=int, default=1000)
    add_pg_arguments(parser)
    args = parser.parse_args()
    if args.district == OTHER_DISTRICT:
        raise SystemExit(f"choose a district other than {OTHER_DISTRICT} (the noise district)")
    previous_rows = args.redemptions if args.previous is None else args.previous
    exit_cleanly_on_sigterm()
    pg = PgServer(args)
    name = f"voucher_bench_{os.getpid()}"
    t_start = time.perf_counter()
    print(
        f"anomaly-scan benchmark: {args.redemptions:,} posted redemptions of district {args.district} in "
        f"{args.month} ({sum(PLANTED.values()):,} planted warnings among them), {args.previous_months} earlier "
        f"months of {previous_rows:,}, {args.noise_other:,} in {OTHER_DISTRICT}; {os.cpu_count()} cores, "
        f"PostgreSQL {pg.host}:{pg.port}, scratch database {name}",
        flush=True,
    )
    print(idle_check(), flush=True)

    with pg.scratch_database(name) as url:
        from sqlalchemy import text

        from app import clock
        from app.db import get_engine, session_scope
        from app.jobs import service
        from app.migrate import upgrade
        from app.rules.anomalies import RULE_CODES
        from app.rules.months import Month

        month = Month.parse(args.month)
        if clock.now() < month.ends_at():
            raise SystemExit(f"{month} is not over yet in real time: choose an ended month")
        upgrade(url)
        point_app_at(url)
        engine = get_engine()
        print_server_settings(engine)

        # --- load --------------------------------------------------------------------------------
        print("load (set-based, INSERT … SELECT FROM generate_series):", flush=True)
        planted_rows = sum(rows for _l, rows, *_ in planted_sources(args.providers, 1))
        ordinary = args.redemptions - planted_rows
        ordinary_elders = -(-max(ordinary, previous_rows if args.previous_months else 0) // args.per_elder)
        groups = planted_sources(args.providers, ordinary_elders + 1)
        elders = ordinary_elders + sum(g[2] for g in groups)
        other_elders = -(-args.noise_other // args.per_elder)
        load_s = run_sql(engine, f"providers: {args.providers} + 9 planted in {args.district} and in {OTHER_DISTRICT}",
                         LOAD_PROVIDERS, {"n": args.providers + 9, "district": args.district, "other": OTHER_DISTRICT})  # fmt: skip
        for district, n in ((args.district, elders), (OTHER_DISTRICT, other_elders)):
            if n:
                load_s += run_sql(engine, f"elders of {district}", LOAD_ELDERS, {"d": district, "n": n})
                load_s += run_sql(
                    engine, f"their approvals ({district})", LOAD_APPROVALS, {"d": district, "n": n}
                )
        months = [month.plus(-k) for k in range(args.previous_months, 0, -1)] + [month]
        for m in months:
            for district, n in ((args.district, elders), (OTHER_DISTRICT, other_elders if m == month else 0)):
                if n:
                    load_s += run_sql(engine, f"vouchers of {district} for {m}", LOAD_VOUCHERS,
                                      {**month_params(m), "d": district, "n": n})  # fmt: skip

        def ordinary_rows(m, district: str, n: int, label: str) -> float:
            sql = INSERT_REDEMPTIONS.format(source=ORDINARY)
            params = {**month_params(m), "d": district, "n": n, "per_elder": args.per_elder,
                      "providers": args.providers, "elder_offset": 0, "label": label}  # fmt: skip
            return run_sql(engine, f"ordinary redemptions of {district} in {m}", sql, params)

        for m in months[:-1]:
            if previous_rows:
                load_s += ordinary_rows(m, args.district, previous_rows, "prev")
        # The jump provider's baseline: 50 redemptions at 20,000 fen in the month before.
        jump_label, _rows, _elders, _src, jump_first = next(g for g in groups if g[0] == "jump")
        if args.previous_months:
            baseline = (
                f"SELECT g, {jump_first - 1} + (g - 1) / 10 + 1 AS e, {planted_provider(args.providers, 'jump')} AS p, 11 AS item, "
                "20000 AS amount, :valid_from + make_interval(days => (3 * ((g - 1) % 10))::integer, hours => 11) "
                "AS served_at, :valid_from + make_interval(days => (3 * ((g - 1) % 10))::integer, hours => 11) "
                "+ interval '1 minute' AS created_at FROM generate_series(1, 50) AS g"
            )
            load_s += run_sql(engine, f"planted jump baseline in {month.previous()}",
                              INSERT_REDEMPTIONS.format(source=baseline),
                              {**month_params(month.previous()), "d": args.district, "label": "base"})  # fmt: skip
        load_s += ordinary_rows(month, args.district, ordinary, "ord")
        for label, _rows, _elders, source, _first in groups:
            load_s += run_sql(engine, f"planted '{label}' redemptions in {month}", INSERT_REDEMPTIONS.format(source=source),
                              {**month_params(month), "d": args.district, "label": label})  # fmt: skip
        suspended_first = next(g[4] for g in groups if g[0] == "suspended")
        load_s += run_sql(
            engine,
            "planted suspensions (day 15, 12:00), before the planted services (day 20)",
            "INSERT INTO elder_status_changes (elder_id, district_code, from_status, to_status, reason, note, "
            "changed_by, changed_at) SELECT md5('elder-' || :d || '-' || (:first - 1 + g))::uuid, :d, 'approved', "
            "'suspended', 'moved_out', NULL, 'bench', :valid_from + interval '14 days 12 hours' "
            "FROM generate_series(1, 100) AS g",
            {**month_params(month), "d": args.district, "first": suspended_first},
        )
        if args.noise_other:
            load_s += ordinary_rows(month, OTHER_DISTRICT, args.noise_other, "other")
        load_s += run_sql(engine, "VACUUM ANALYZE (as autovacuum would have during the month)", "VACUUM ANALYZE",
                          autocommit=True)  # fmt: skip
        with engine.connect() as conn:
            sizes = conn.execute(
                text(
                    "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE relname IN "
                    "('redemptions', 'vouchers', 'elders', 'elder_status_changes') ORDER BY relname"
                )
            ).all()
            count = conn.execute(
                text(
                    "SELECT count(*) FROM redemptions WHERE district_code = :d AND month = :m AND status = 'posted'"
                ),
                {"d": args.district, "m": month.first_day},
            ).scalar_one()
            total_rows = conn.execute(text("SELECT count(*) FROM redemptions")).scalar_one()
            probe_voucher = conn.execute(
                text("SELECT id FROM vouchers WHERE district_code = :d AND month = :m LIMIT 1"),
                {"d": args.district, "m": month.first_day},
            ).scalar_one()
        print(f"  load total {load_s:.1f} s; sizes: " + ", ".join(f"{n} {s}" for n, s in sizes), flush=True)
        print(
            f"  redemptions: {count:,} posted in {args.district} {month}; {total_rows:,} in the table",
            flush=True,
        )
        assert count == args.redemptions, count

        # --- the timed scans -----------------------------------------------------------------------
        timer = RuleTimer(engine, RULE_CODES)

        def timed_scan(title: str, *, probe: bool) -> tuple[float, object, dict]:
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))
            cpu = CpuMeter({
                f"postgres backends of {name}": postgres_backends_of(name),
                "postgres background (WAL writer, checkpointer …) + other databases": postgres_other_pids(name),
            })  # fmt: skip
            prober = Probe(url, probe_voucher, args.district, month.first_day) if probe else None
            print(f"{title}: app.jobs.service.run_anomaly_scan(month={month}) in one session_scope(), real clock "
                  f"{clock.now():%Y-%m-%d %H:%M}, statement_timeout {args.timeout} s ...", flush=True)  # fmt: skip
            timer.times.clear()
            timer.plans.clear()
            tracemalloc.start()
            cpu.start()
            if prober:
                prober.start()
            timer.active = True
            t0 = time.perf_counter()
            with session_scope() as session:
                session.execute(text(f"SET LOCAL statement_timeout = '{args.timeout}s'"))
                if args.explain:
                    raw = session.connection().connection.driver_connection
                    raw.add_notice_handler(timer.notice)
                    for setting in ("LOAD 'auto_explain'",
                                    f"SET LOCAL auto_explain.log_min_duration = '{args.explain_ms}ms'",
                                    "SET LOCAL auto_explain.log_analyze = on", "SET LOCAL auto_explain.log_buffers = on",
                                    "SET LOCAL auto_explain.log_level = 'notice'"):  # fmt: skip
                        session.execute(text(setting))
                result, run = service.run_anomaly_scan(session, month, trigger="bench")
                run_id = run.id
            seconds = time.perf_counter() - t0
            timer.active = False
            if prober:
                prober.stop.set()
                prober.join()
            cpu.stop()
            peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            lines = [
                f"  wall {seconds:7.2f} s  (SQL statements {sum(s for _c, s in timer.times.values()):.2f} s); job run {run_id}",
                f"  CPU: this Python process {cpu.result['this process (client)']:.2f} s; "
                + "; ".join(f"{k} {v:.1f} s" for k, v in cpu.result.items() if k != "this process (client)"),
                f"  Python memory: tracemalloc peak {peak_mb:.2f} MB (no redemption passes through Python)",
                "  SQL time per rule (one statement per rule and district, 17 districts):",
            ]
            for label, (n, s) in sorted(timer.times.items(), key=lambda kv: -kv[1][1]):
                lines.append(f"    {n:4d}  {s:8.2f} s  {label}")
            lines.append(
                "  warnings found (new):  " + ", ".join(f"{k}={v:,}" for k, v in result.found.items())
            )
            if prober:
                lines.append("  " + prober.summary())
            print_block(title, lines)
            if timer.plans:
                print_block(f"{title}: EXPLAIN ANALYZE of the statements over {args.explain_ms} ms",
                            ["  " + line for plan in timer.plans for line in plan.splitlines() if line.strip()])  # fmt: skip
            return seconds, result, cpu.result

        first_s, first, _cpu = timed_scan("scan", probe=True)
        second_s, second, _cpu = timed_scan("rescan (must find nothing new)", probe=False)
        with engine.connect() as conn:
            stored = dict(
                conn.execute(
                    text("SELECT rule, count(*) FROM anomalies WHERE month = :m GROUP BY rule"),
                    {"m": month.first_day},
                ).all()
            )
        engine.dispose()

        exact = first.found == PLANTED and {k: stored.get(k, 0) for k in PLANTED} == PLANTED
        idempotent = second.total == 0
        passed = first_s < TARGET_SECONDS and exact and idempotent
        print_block("result", [
            f"  scan of {args.redemptions:,} redemptions ({total_rows:,} in the table): {first_s:.2f} s "
            f"({'PASS' if first_s < TARGET_SECONDS else 'FAIL'}: < {TARGET_SECONDS:g} s); rescan {second_s:.2f} s",
            "  warnings " + ("exactly as planted, none from the ordinary redemptions" if exact
                             else f"DIFFER from the planted ones: found {first.found}, stored {stored}, planted {PLANTED}"),
            "  rescan " + ("found nothing new (idempotent)" if idempotent else f"found {second.found}"),
            f"  {'PASS' if passed else 'FAIL'}",
        ])  # fmt: skip
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s; scratch database dropped")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
