"""Shared plumbing for the benchmarks: a scratch PostgreSQL database per run, the app pointed
at it, CPU accounting from /proc, and a profile printer.

Only loopback addresses are used. Every scratch database is dropped when the run ends, also on
failure, Ctrl+C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The maintenance connection: any existing database on the local server.
DEFAULT_PG_HOST = "127.0.0.1"
DEFAULT_PG_PORT = 5432
DEFAULT_PG_USER = "postgres"
DEFAULT_PG_MAINTENANCE_DB = "test"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def add_pg_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pg-host", default=DEFAULT_PG_HOST, help="loopback only")
    parser.add_argument("--pg-port", type=int, default=DEFAULT_PG_PORT)
    parser.add_argument("--pg-user", default=DEFAULT_PG_USER)
    parser.add_argument(
        "--pg-maintenance-db",
        default=DEFAULT_PG_MAINTENANCE_DB,
        help="existing database used to CREATE/DROP the scratch ones",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database (debugging)")


class PgServer:
    def __init__(self, args: argparse.Namespace) -> None:
        if args.pg_host not in LOOPBACK:
            raise SystemExit(f"refusing non-loopback PostgreSQL host {args.pg_host!r}")
        self.host = args.pg_host
        self.port = args.pg_port
        self.user = args.pg_user
        self.maintenance_db = args.pg_maintenance_db
        self.keep = args.keep_db

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def libpq(self, database: str) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={database}"

    def admin_execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.libpq(self.maintenance_db), autocommit=True) as conn:
            conn.execute(sql)

    @contextlib.contextmanager
    def scratch_database(self, name: str) -> Iterator[str]:
        """CREATE DATABASE name; yield its SQLAlchemy URL; DROP it (WITH FORCE) afterwards."""
        self.admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin_execute(f'CREATE DATABASE "{name}"')
        try:
            yield self.url(name)
        finally:
            if self.keep:
                print(f"(kept database {name})", flush=True)
            else:
                try:
                    self.admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception as error:  # pragma: no cover - report, do not mask
                    print(f"WARNING: could not drop database {name}: {error}", file=sys.stderr)


def exit_cleanly_on_sigterm() -> None:
    """SIGTERM/SIGHUP raise SystemExit so that every ``finally`` (drop database, stop server)
    runs."""

    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def point_app_at(url: str, **extra_env: str) -> None:
    """Make ``app.config.get_settings()`` and ``app.db.get_engine()`` use ``url``."""
    os.environ["VOUCHER_DATABASE_URL"] = url
    os.environ["VOUCHER_SCHEDULER__ENABLED"] = "false"
    os.environ["VOUCHER_SANDBOX_CLOCK"] = "false"
    os.environ.setdefault("VOUCHER_ENVIRONMENT", "development")
    os.environ.update(extra_env)
    from app.config import get_settings
    from app.db import reset_engine

    get_settings.cache_clear()
    reset_engine()


def maxrss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter for this process (Linux >= 4.0 via clear_refs 5),
    so that ru_maxrss after a step is that step's peak. False when not permitted."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def vm_hwm_mb() -> float:
    """VmHWM: peak RSS since start or since the last reset_peak_rss()."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# --- CPU accounting --------------------------------------------------------------------------
CLK_TCK = os.sysconf("SC_CLK_TCK")


def process_cpu_times(pid: int) -> tuple[float, float]:
    """(user + system, system) CPU seconds of a process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[12]) / CLK_TCK
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0, 0.0


def process_cpu_seconds(pid: int) -> float:
    return process_cpu_times(pid)[0]


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def idle_check(seconds: float = 2.0) -> str:
    """How busy the machine is before the benchmark starts (other people's processes)."""
    busy0, total0 = machine_cpu_seconds()
    time.sleep(seconds)
    busy1, total1 = machine_cpu_seconds()
    share = (busy1 - busy0) / max(total1 - total0, 1e-9)
    note = "" if share < 0.05 else "  WARNING: the machine is not idle; figures will be disturbed"
    return (
        f"machine busy before the run: {100 * share:.0f}% of {os.cpu_count()} cores over {seconds:g} s{note}"
    )


def children_of(pid: int) -> list[int]:
    result = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            result.append(int(entry))
    return sorted(result)


def _postgres_processes() -> list[tuple[int, str]]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                comm = f.read().strip()
            if not (comm.startswith("postgres") or comm.startswith("postmaster")):
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out.append((int(entry), cmdline))
    return out


def postgres_backends_of(database: str):
    """A function listing the PostgreSQL backends connected to ``database`` (their process
    title is 'postgres: <cluster>: <user> <database> <client> <state>')."""

    def pids() -> list[int]:
        return [pid for pid, cmd in _postgres_processes() if f" {database} " in f"{cmd} "]

    return pids


def postgres_other_pids(*databases: str):
    """PostgreSQL processes not serving ``databases``: background workers (WAL writer,
    checkpointer, autovacuum) and backends of other databases."""

    def pids() -> list[int]:
        return [
            pid for pid, cmd in _postgres_processes() if not any(f" {db} " in f"{cmd} " for db in databases)
        ]

    return pids


class CpuMeter:
    """CPU seconds spent by groups of processes between start() and stop(); whatever the
    machine spent beyond this process and the groups is reported as 'other processes'."""

    def __init__(self, groups: dict) -> None:
        self.groups = groups  # name -> function returning the pids (re-evaluated at stop)
        self.before: dict[str, dict[int, float]] = {}
        self.result: dict[str, float] = {}

    def _read(self) -> dict[str, dict[int, tuple[float, float]]]:
        return {name: {pid: process_cpu_times(pid) for pid in pids()} for name, pids in self.groups.items()}

    def _poll(self) -> None:
        # Processes that exit during the run (pgbench's backends) are read every 0.25 s, so
        # their CPU is counted up to their last poll.
        while not self._stop.wait(0.25):
            for name, readings in self._read().items():
                self.last[name].update(readings)

    def start(self) -> None:
        import threading

        self.t0 = time.perf_counter()
        self.machine0 = machine_cpu_seconds()
        self.self0 = os.times()
        self.before = self._read()
        self.last = {name: dict(readings) for name, readings in self.before.items()}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for name, readings in self._read().items():
            self.last[name].update(readings)
        self.wall = time.perf_counter() - self.t0
        machine1 = machine_cpu_seconds()
        self.machine_busy = machine1[0] - self.machine0[0]
        self.machine_total = machine1[1] - self.machine0[1]
        t = os.times()
        self.result = {
            "this process (client)": (t.user - self.self0.user) + (t.system - self.self0.system),
        }
        self.system = {"this process (client)": t.system - self.self0.system}
        children = (t.children_user - self.self0.children_user) + (
            t.children_system - self.self0.children_system
        )
        if children > 0.005:
            self.result["child processes that exited (pgbench)"] = children
        for name in self.groups:
            self.result[name] = sum(
                value[0] - self.before[name].get(pid, (0.0, 0.0))[0] for pid, value in self.last[name].items()
            )
            self.system[name] = sum(
                value[1] - self.before[name].get(pid, (0.0, 0.0))[1] for pid, value in self.last[name].items()
            )
        self.result["other processes (not this benchmark)"] = max(
            0.0, self.machine_busy - sum(self.result.values())
        )

    @property
    def foreign_share(self) -> float:
        """Share of the machine's CPU used by processes outside the benchmark."""
        return self.result["other processes (not this benchmark)"] / max(self.machine_total, 1e-9)

    def lines(self, operations: int | None = None, unit: str = "request") -> list[str]:
        out = [
            f"  machine: {self.machine_busy:6.1f} CPU-s busy of {self.machine_total:6.1f} "
            f"available ({100 * self.machine_busy / max(self.machine_total, 1e-9):.0f}% of "
            f"{os.cpu_count()} cores over {self.wall:.1f} s)"
        ]
        for name, seconds in self.result.items():
            per = (
                f"  {1000 * seconds / operations:6.2f} ms per {unit}"
                if operations and "other" not in name
                else ""
            )
            kernel = (
                f"  ({100 * self.system[name] / seconds:.0f}% in the kernel)"
                if name in self.system and seconds > 0.05
                else ""
            )
            out.append(f"  {name:42s} {seconds:6.1f} CPU-s = {seconds / self.wall:4.2f} cores{per}{kernel}")
        return out


# --- profiles -----------------------------------------------------------------------------------
def _frame_key(frame: str) -> str:
    """'func (path/to/file.py:123)' -> 'func (file.py)', shortened to the package path."""
    if " (" not in frame:
        return frame
    name, location = frame.split(" (", 1)
    path = location.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({shorten_path(path)})"


def shorten_path(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return path


def package_of(frame: str) -> str:
    if " (" not in frame:
        return "other"
    path = frame.split(" (", 1)[1]
    if path.startswith("app/"):
        return "app (" + path.split("/")[1].split(".")[0].split(" ")[0].rstrip(")") + ")"
    head = path.split("/")[0].split(".")[0]
    return head


def summarise_collapsed(path: str, top: int = 15, expected_samples: int | None = None) -> list[str]:
    """Top functions of a py-spy raw (collapsed-stack) profile, by self and inclusive samples."""
    self_samples: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count_text = line.rpartition(" ")
            count = int(count_text)
            frames = [_frame_key(fr) for fr in stack.split(";")]
            # the first frame of a py-spy raw stack is the thread, e.g. "process 1:..."
            frames = [fr for fr in frames if " (" in fr]
            if not frames:
                continue
            total += count
            self_samples[frames[-1]] += count
            packages[package_of(frames[-1])] += count
            for fr in set(frames):
                inclusive[fr] += count
    out = [f"  {total} samples"]
    if expected_samples:
        out[0] += f" in {expected_samples} sampling ticks"
    if not total:
        return out
    out.append(f"  top {top} by self time (where the CPU is actually spent):")
    for frame, count in self_samples.most_common(top):
        out.append(f"    {100 * count / total:5.1f}%  {frame}")
    out.append("  self time by package of the innermost frame:")
    for pkg, count in packages.most_common(12):
        out.append(f"    {100 * count / total:5.1f}%  {pkg}")
    out.append(f"  top {top} application frames by inclusive time:")
    app_frames = [(fr, c) for fr, c in inclusive.most_common() if " (app/" in fr]
    for frame, count in app_frames[:top]:
        out.append(f"    {100 * count / total:5.1f}%  {frame}")
    return out


def print_block(title: str, lines: list[str]) -> None:
    print(f"\n== {title}")
    for line in lines:
        print(line)
    sys.stdout.flush()


def run_sql(engine, label: str, sql: str, params: dict | None = None, *, autocommit: bool = False) -> float:
    """One load statement, timed and printed with the rows it wrote."""
    from sqlalchemy import text

    t0 = time.perf_counter()
    if autocommit:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(sql), params or {})
    else:
        with engine.begin() as conn:
            rows = conn.execute(text(sql), params or {}).rowcount
            label = f"{label} ({rows:,} rows)" if rows and rows > 0 else label
    seconds = time.perf_counter() - t0
    print(f"  {seconds:6.1f} s  {label}", flush=True)
    return seconds


def print_server_settings(engine) -> None:
    """The PostgreSQL version and the settings that move the figures most."""
    from sqlalchemy import text

    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar()
        settings = {
            s: conn.execute(text(f"SHOW {s}")).scalar()
            for s in ("shared_buffers", "work_mem", "max_wal_size", "synchronous_commit", "jit")
        }
    print(f"PostgreSQL {version}; " + ", ".join(f"{k}={v}" for k, v in settings.items()), flush=True)
