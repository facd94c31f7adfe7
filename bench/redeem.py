"""HTTP redemption throughput and latency against PostgreSQL, compared with pgbench (TPC-B-like)
on the same PostgreSQL server.

    bench/redeem [--duration 20] [--warmup 3] [--clients 8] [--workers 2] [--elders 10000]

Steps: scratch database + Alembic migrations; seed providers (service layer), elders (bulk
INSERT, valid ID numbers, eligibility computed by app.rules.eligibility), some station
enrolments, and this month's vouchers (app.jobs.service.run_issue); start uvicorn with 2
workers on a free loopback port; 8 concurrent keep-alive connections post redemptions for the
warm-up and the measured window; ledger verify over HTTP; a consistency check of the database
against what the client saw; pgbench -i -s 10 then pgbench -c 8 -j 2 -T 20 on a scratch
database; PASS/FAIL (ratio >= 0.5 and p99 < 25 ms); on FAIL a profile of one worker (py-spy)
and of the service function in-process (cProfile). Both scratch databases are dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
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
    summarise_collapsed,
)

TARGET_RATIO = 0.5
TARGET_P99_MS = 25.0  # issue 13
TARGET_CPU_MS = 1.2  # worker + backend CPU per redemption (issue 13)

DISTRICTS = [
    "110101", "110102", "110105", "110106", "110107", "110108", "110109", "110111",
    "110112", "110113", "110114", "110115", "110116", "110117", "110118", "110119",
    "110400",
]  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "秀英桂兰玉珍凤兰淑珍建国国华志强德明文华丽娟春梅海燕振华"
STATION_BASIC_SERVICE_ITEMS = [13, 14, 15, 16, 17, 18, 19, 20, 28, 45]


# --- seeding ---------------------------------------------------------------------------------
@dataclass
class ProviderInfo:
    id: str
    kind: str
    district: str
    key: str


@dataclass
class Fixture:
    providers: list[ProviderInfo]
    stations: dict[str, list[ProviderInfo]]  # district -> its stations (the first: the enrolling one)
    home_care: list[ProviderInfo]
    institutions: list[ProviderInfo]
    elders: list[tuple[str, str, bool]]  # (id, district, has ltci)
    hot: list[tuple[str, str, bool]]
    enrolled: list[tuple[str, str]]  # (elder id, district) enrolled at the district's station
    catalogue: dict[int, tuple[str, int | None, int | None]]
    month: str
    timings: dict[str, float] = field(default_factory=dict)


def seed(args, url: str, rng: random.Random) -> Fixture:
    from sqlalchemy import insert, select, text
    from stdnum.cn import ric, uscc

    from app import clock
    from app.auth.principal import Principal, Role
    from app.db import session_scope
    from app.jobs.service import run_issue
    from app.models.elders import Elder, ElderEnrolment
    from app.models.reference import CatalogueItem
    from app.providers import service as provider_service
    from app.providers.schemas import ProviderKind
    from app.rules.eligibility import (
        Benefit,
        DisabilityLevel,
        EligibilityFacts,
        EligibilityRules,
        Residency,
        assess_eligibility,
    )
    from app.rules.identity import normalise_id_number
    from app.rules.months import Month

    timings: dict[str, float] = {}
    now = clock.now()
    today = now.date()
    month = Month.containing(now)
    admin = Principal(role=Role.CITY_ADMIN, subject_id="bench")

    # Providers, through the service layer (valid credit codes, hashed API keys).
    t0 = time.perf_counter()
    plan = [("station", d) for d in DISTRICTS]
    plan += [("home_care_company", DISTRICTS[i * 3 % len(DISTRICTS)]) for i in range(6)]
    plan += [("institution", DISTRICTS[(i * 5 + 2) % len(DISTRICTS)]) for i in range(5)]
    providers: list[ProviderInfo] = []
    with session_scope() as session:
        for serial, (kind, district) in enumerate(plan, start=1):
            body = f"52{district}MJ{serial:07d}"
            key = f"pk_bench_{uuid.uuid4().hex}"
            provider, _ = provider_service.create_provider(
                session,
                admin,
                name=f"压测{kind}{serial}",
                kind=ProviderKind(kind),
                district_code=district,
                credit_code=body + uscc.calc_check_digit(body),
                parent_id=None,
                api_key=key,
            )
            providers.append(ProviderInfo(str(provider.id), kind, district, key))
    if args.providers:
        providers += _many_stations(args.providers, admin.actor, now)
    timings["providers"] = time.perf_counter() - t0

    # Elders: valid ID numbers, eligibility computed by the service's own rules, bulk INSERT.
    t0 = time.perf_counter()
    rules = EligibilityRules(minimum_age_years=60, assessment_valid_months=12)
    rows = []
    elders = []
    for i in range(args.elders):
        district = DISTRICTS[i % len(DISTRICTS)]
        j = i // len(DISTRICTS)
        birth = date(1940, 1, 1) + timedelta(days=j % 9000)
        body = f"{district}{birth:%Y%m%d}{(j // 9000) % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")
        assert normalise_id_number(number) == number, "bench generated an invalid ID number"
        level = rng.choice(["moderate", "severe", "severe", "complete"])
        residency = rng.choices(["beijing_hukou", "residence_permit", "institution_resident"], [85, 10, 5])[0]
        benefits = ["ltci"] if rng.random() < 0.15 else []
        assessed_on = date(2026, 1, 1) + timedelta(days=rng.randrange(300))
        facts = EligibilityFacts(
            disability_level=DisabilityLevel(level),
            residency=Residency(residency),
            benefits=frozenset(Benefit(b) for b in benefits),
            birth_date=birth,
            assessed_on=assessed_on,
        )
        verdict = assess_eligibility(facts, rules, today)
        assert verdict.eligible, verdict.reasons
        elder_id = uuid.uuid4()
        rows.append(
            {
                "id": elder_id,
                "district_code": district,
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                "id_number": number,
                "birth_date": birth,
                "residency": residency,
                "disability_level": level,
                "assessed_on": assessed_on,
                "benefits": benefits,
                "status": "approved",
                "eligible": True,
                "ineligible_reasons": [],
                "eligibility_checked_on": today,
                "created_at": now - timedelta(days=30),
                "created_by": "bench",
                "approved_at": now - timedelta(days=29),
                "suspended_at": None,
                "suspension_reason": None,
                "last_voucher_month": None,
            }
        )
        elders.append((str(elder_id), district, bool(benefits)))
    with session_scope() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Elder), rows[start : start + 5000])
    timings["elders"] = time.perf_counter() - t0

    stations: dict[str, list[ProviderInfo]] = {}
    for p in providers:
        if p.kind == "station":
            stations.setdefault(p.district, []).append(p)
    hot = elders[: args.hot_elders]
    rest = elders[args.hot_elders :]
    # ~3% of the other elders are enrolled in their district station's basic services (一(八)4).
    enrolled = [(e[0], e[1]) for e in rest if rng.random() < 0.03]
    with session_scope() as session:
        if enrolled:
            session.execute(
                insert(ElderEnrolment),
                [
                    {
                        "id": uuid.uuid4(),
                        "district_code": district,
                        "elder_id": uuid.UUID(elder_id),
                        "provider_id": uuid.UUID(stations[district][0].id),
                        "kind": "station_basic_services",
                        "starts_on": date(2026, 1, 1),
                        "ends_on": None,
                        "created_at": now,
                        "created_by": "bench",
                    }
                    for elder_id, district in enrolled
                ],
            )
        catalogue = {
            row.item: (row.category, row.ref_price_min_fen, row.ref_price_max_fen)
            for row in session.scalars(select(CatalogueItem))
        }

    # This month's vouchers, by the monthly job's own code (in a rush, the job races the load).
    t0 = time.perf_counter()
    if not args.rush:
        with session_scope() as session:
            result, _run = run_issue(session, month, trigger="bench-seed")
        assert result.issued == args.elders, result
    timings["vouchers"] = time.perf_counter() - t0

    from app.db import get_engine

    with get_engine().connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return Fixture(
        providers=providers,
        stations=stations,
        home_care=[p for p in providers if p.kind == "home_care_company"],
        institutions=[p for p in providers if p.kind == "institution"],
        elders=rest,
        hot=hot,
        enrolled=enrolled,
        catalogue=catalogue,
        month=str(month),
        timings=timings,
    )


def _many_stations(count: int, actor: str, now) -> list[ProviderInfo]:
    """``count`` more listed stations, bulk-inserted with valid credit codes and their own keys."""
    from sqlalchemy import insert
    from stdnum.cn import uscc

    from app.auth.security import hash_secret
    from app.db import session_scope
    from app.models.providers import Provider

    rows, infos = [], []
    for serial in range(count):
        district = DISTRICTS[serial % len(DISTRICTS)]
        body = f"52{district}MK{serial:07d}"
        key = f"pk_bench_{uuid.uuid4().hex}"
        provider_id = uuid.uuid4()
        rows.append({
            "id": provider_id, "district_code": district, "name": f"压测驿站{serial}", "kind": "station",
            "credit_code": body + uscc.calc_check_digit(body), "parent_id": None, "status": "listed",
            "api_key_hash": hash_secret(key), "created_at": now, "created_by": actor,
        })  # fmt: skip
        infos.append(ProviderInfo(str(provider_id), "station", district, key))
    with session_scope() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Provider), rows[start : start + 5000])
    return infos


# --- the request mix -------------------------------------------------------------------------
BEIJING_TZ = timezone(timedelta(hours=8))


def daytime_before(now: datetime, rng: random.Random) -> datetime:
    """A service time as terminals send them: a daytime moment (08:00-20:00 Beijing) of this
    month before now, a few minutes to a few hours ago; just before now when the month has no
    daytime yet (the 1st's small hours). Services at night are rare and raise a warning each
    (NIGHT_HOME_SERVICE), which is extra work a typical hour does not do."""
    local = now.astimezone(BEIJING_TZ)
    for day_back in (0, 1, 2):
        day = local - timedelta(days=day_back)
        if day.month != local.month:
            break
        start = day.replace(hour=8, minute=0, second=0, microsecond=0)
        end = min(day.replace(hour=20, minute=0, second=0, microsecond=0), local - timedelta(minutes=1))
        if end > start:
            return end - timedelta(seconds=rng.randrange(min(4 * 3600, int((end - start).total_seconds()))))
    return now - timedelta(minutes=1)


class RequestMix:
    """20% (--hot-share) of the requests go to 10 (--hot-elders) elders with small amounts (meal
    delivery); the rest go to a uniformly chosen elder: mostly home/community items at a
    station, a home-care company or an institution, some institution items (respite, day care,
    rarely a month of long-term care, which uses up the voucher), a few basic services asked of
    the station the elder is enrolled with (refused: NOT_REDEEMABLE)."""

    def __init__(self, fixture: Fixture, args, seed: int) -> None:
        self.f = fixture
        self.rng = random.Random(seed)
        self.hot_share = args.hot_share
        self.prefix = f"bench-{os.getpid()}-{seed}-"
        self.counter = 0
        self.home_items = [
            item for item, (category, _lo, _hi) in fixture.catalogue.items() if category == "home_community"
        ]

    def amount(self, item: int) -> int:
        _category, low, high = self.f.catalogue[item]
        if low is None:
            return self.rng.randrange(5_000, 20_001)
        return self.rng.randrange(low, high + 1)

    def next(self) -> tuple[str, bytes, str]:
        """(provider key, JSON body, kind of request)"""
        rng = self.rng
        roll = rng.random()
        ltci = False
        if roll < self.hot_share:
            elder_id, district, _ = rng.choice(self.f.hot)
            provider = (
                rng.choice(self.f.stations[district]) if rng.random() < 0.7 else rng.choice(self.f.home_care)
            )
            item, amount, kind = 7, rng.randrange(300, 601), "hot"
        elif roll < self.hot_share + 0.01 and self.f.enrolled:
            elder_id, district = rng.choice(self.f.enrolled)
            provider = self.f.stations[district][0]  # the station the elder is enrolled with
            item = rng.choice(STATION_BASIC_SERVICE_ITEMS)
            amount, kind = self.amount(item), "enrolled-basic"
        else:
            elder_id, district, ltci = rng.choice(self.f.elders)
            if rng.random() < 0.12:
                provider = rng.choice(self.f.institutions)
                if rng.random() < 0.04:
                    item, amount = 2, rng.randrange(300_000, 800_001)  # a month of care
                else:
                    item, amount = rng.choice([3, 4]), rng.randrange(10_000, 30_001)
                kind = "institution"
            else:
                pick = rng.random()
                if pick < 0.55:
                    provider = rng.choice(self.f.stations[district])
                elif pick < 0.85:
                    provider = rng.choice(self.f.home_care)
                else:
                    provider = rng.choice(self.f.institutions)
                item = rng.choice(self.home_items)
                amount, kind = self.amount(item), "home_community"
        ltci_paid = 0
        if ltci and rng.random() < 0.5 and amount > 100:
            ltci_paid = amount * rng.randrange(20, 70) // 100
        served_at = daytime_before(datetime.now(UTC), rng)
        body = {
            "elder_id": elder_id,
            "item": item,
            "amount_fen": amount,
            "ltci_paid_fen": ltci_paid,
            "served_at": served_at.astimezone(timezone(timedelta(hours=8))).isoformat(timespec="seconds"),
            "id_checked": True,
            "receipt_no": f"R{rng.randrange(10**9):09d}",
        }
        return provider.key, json.dumps(body).encode(), kind

    def key(self) -> str:
        self.counter += 1
        return f"{self.prefix}{self.counter}"


# --- the server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(
        self, url: str, workers: int, admin_token: str, *, app: str = "app.main:app", cwd: Path = ROOT,
        extra_env: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-uvicorn-", suffix=".log", delete=False)
        env = {
            **os.environ,
            "VOUCHER_DATABASE_URL": url,
            "VOUCHER_SCHEDULER__ENABLED": "false",
            "VOUCHER_SANDBOX_CLOCK": "false",
            "VOUCHER_ENVIRONMENT": "development",
            "VOUCHER_ADMIN_TOKEN": admin_token,
            "VOUCHER_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                app,
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
            cwd=cwd,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited early:\n{self.log_text()}")
            if len(self.workers()) >= workers:
                try:
                    if httpx.get(self.base + "/healthz", timeout=2).status_code in (200, 404):
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"uvicorn not ready after {timeout} s:\n{self.log_text()}")

    def workers(self) -> list[int]:
        """The worker processes (children of the uvicorn supervisor that serve requests)."""
        pids = []
        for pid in children_of(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"resource_tracker" not in cmdline:
                pids.append(pid)
        return pids

    def connections_per_worker(self) -> dict[int, int]:
        """Established client connections held by each worker. The kernel hands each new
        connection to whichever worker accept()s first, so 8 keep-alive connections need not be
        split 4/4."""
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == self.port and fields[3] == "01":  # ESTABLISHED
                    inodes.add(fields[9])
        result = {}
        for pid in self.workers():
            count = 0
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    except OSError:
                        continue
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        count += 1
            except OSError:
                pass
            result[pid] = count
        return result

    def log_text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the supervisor stops its own workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)  # our own process group, by id
                self.proc.wait()
        Path(self.log.name).unlink(missing_ok=True)


# --- load ------------------------------------------------------------------------------------
@dataclass
class LoadResult:
    duration: float
    latencies_ms: list[float]
    statuses: Counter
    codes: Counter
    kinds: Counter
    all_requests: int  # warm-up included
    all_created: int  # every 201, warm-up included
    all_deducted_fen: int
    exceptions: Counter
    placement: str = ""
    issue_job: dict | None = None  # --rush: the month-start job that raced the load


class RawHttpConnection:
    """A minimal HTTP/1.1 keep-alive client for one connection: the load generator shares the
    machine's 2 cores with the server and PostgreSQL, so it must cost little CPU per request
    (about a tenth of httpx's)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        return await self.request("POST", path, headers, body)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode("latin-1") + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
                elif name == "transfer-encoding":
                    raise RuntimeError("chunked responses are not expected")
            payload = await self.reader.readexactly(length)
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def open_connections(server: Server, n: int, balance: bool) -> tuple[list[RawHttpConnection], str]:
    """n open keep-alive connections, each having answered GET /healthz. With ``balance``, they
    are opened one at a time and a connection that lands on a worker already holding its share
    (n / workers) is closed and opened again, so that every worker serves the same number."""
    host, port = server.base.removeprefix("http://").rsplit(":", 1)
    connections: list[RawHttpConnection] = []
    workers = server.workers()
    quota = -(-n // max(len(workers), 1))
    attempts = 0
    while len(connections) < n:
        before = server.connections_per_worker()
        connection = RawHttpConnection(host, int(port))
        await connection.request("GET", "/healthz", {})
        attempts += 1
        if balance and attempts < 50 * n:
            after = server.connections_per_worker()
            grown = [pid for pid in after if after[pid] > before.get(pid, 0)]
            if grown and after[grown[0]] > quota:
                connection.close()
                await asyncio.sleep(0.01 * (attempts % 5))
                continue
        connections.append(connection)
    placement = server.connections_per_worker()
    text = " / ".join(str(placement[pid]) for pid in sorted(placement))
    return connections, f"{text} ({'balanced' if balance else 'as accepted'}, {attempts} connects)"


async def natural_placement(server: Server, n: int) -> str:
    """How the workers share n connections opened at once, as a pool of clients would."""
    host, port = server.base.removeprefix("http://").rsplit(":", 1)
    connections = [RawHttpConnection(host, int(port)) for _ in range(n)]
    await asyncio.gather(*(c.request("GET", "/healthz", {}) for c in connections))
    placement = server.connections_per_worker()
    for c in connections:
        c.close()
    await asyncio.sleep(0.2)
    return " / ".join(str(placement[pid]) for pid in sorted(placement))


async def race_issue_job(server: Server, admin_token: str, month: str) -> dict:
    """POST /jobs/issue while the rush's first requests arrive (--rush)."""
    import httpx

    t0 = time.perf_counter()
    response = await asyncio.to_thread(
        httpx.post, server.base + "/api/v1/jobs/issue", json={"month": month},
        headers={"Authorization": f"Bearer {admin_token}"}, timeout=120,
    )  # fmt: skip
    return {"status": response.status_code, "seconds": time.perf_counter() - t0, **response.json()}


async def run_load(
    server: Server,
    mix: RequestMix,
    clients: int,
    warmup: float,
    duration: float,
    client_kind: str = "raw",
    balance: bool = True,
    issue_job=None,
) -> LoadResult:
    base = server.base
    latencies: list[float] = []
    statuses: Counter = Counter()
    codes: Counter = Counter()
    kinds: Counter = Counter()
    exceptions: Counter = Counter()
    totals = {"requests": 0, "created": 0, "deducted": 0}
    path = "/api/v1/redemptions"
    host, port = base.removeprefix("http://").rsplit(":", 1)
    httpx_client = None
    if client_kind == "httpx":
        import httpx

        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        httpx_client = httpx.AsyncClient(base_url=base, limits=limits, timeout=30)

    connections, placement = [], "httpx pool"
    if httpx_client is None:
        connections, placement = await open_connections(server, clients, balance)
    start = time.perf_counter()
    measure_from = start + warmup
    end = measure_from + duration

    async def worker(index: int) -> None:
        connection = connections[index] if connections else RawHttpConnection(host, int(port))
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= end:
                    return
                key, body, kind = mix.next()
                headers = {
                    "Authorization": f"Bearer {key}",
                    "Idempotency-Key": mix.key(),
                    "Content-Type": "application/json",
                }
                try:
                    if httpx_client is not None:
                        response = await httpx_client.post(path, content=body, headers=headers)
                        status, raw = response.status_code, response.content
                    else:
                        status, raw = await asyncio.wait_for(connection.post(path, headers, body), 30)
                    payload = json.loads(raw)
                except Exception as error:  # transport errors count as errors
                    status, payload = None, None
                    exceptions[type(error).__name__] += 1
                t1 = time.perf_counter()
                totals["requests"] += 1
                if status == 201:
                    totals["created"] += 1
                    totals["deducted"] += payload["deduction_fen"]
                if t0 < measure_from:
                    continue
                latencies.append((t1 - t0) * 1000)
                statuses[status if status is not None else "exception"] += 1
                kinds[kind] += 1
                if status is not None and status != 201:
                    codes[f"{status} {payload.get('code') if isinstance(payload, dict) else '?'}"] += 1
        finally:
            connection.close()

    job = asyncio.create_task(issue_job()) if issue_job is not None else None
    try:
        await asyncio.gather(*(worker(i) for i in range(clients)))
    finally:
        if httpx_client is not None:
            await httpx_client.aclose()
    return LoadResult(
        issue_job=await job if job is not None else None,
        duration=duration,
        latencies_ms=latencies,
        statuses=statuses,
        codes=codes,
        kinds=kinds,
        all_requests=totals["requests"],
        all_created=totals["created"],
        all_deducted_fen=totals["deducted"],
        exceptions=exceptions,
        placement=placement,
    )


async def run_floor(server: Server, clients: int, seconds: float, balance: bool) -> tuple[float, float]:
    """GET /healthz (one session, SELECT 1, commit) with the same client: what the HTTP stack and
    a minimal transaction cost, i.e. the ceiling of any endpoint of this service here."""
    latencies: list[float] = []
    connections, _ = await open_connections(server, clients, balance)
    end = time.perf_counter() + seconds

    async def worker(connection: RawHttpConnection) -> None:
        try:
            while (t0 := time.perf_counter()) < end:
                status, _ = await connection.request("GET", "/healthz", {})
                if status == 200:
                    latencies.append(1000 * (time.perf_counter() - t0))
        finally:
            connection.close()

    await asyncio.gather(*(worker(c) for c in connections))
    return len(latencies) / seconds, percentile(latencies, 50)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)  # nearest rank
    return ordered[max(0, min(len(ordered), math.ceil(p / 100 * len(ordered))) - 1)]


class WaitSampler(threading.Thread):
    """Samples pg_stat_activity of the bench database every 50 ms: what the server's backends
    are doing (running, waiting for a lock, idle inside a transaction = waiting for Python)."""

    def __init__(self, libpq: str, database: str, server: Server | None = None) -> None:
        super().__init__(daemon=True)
        self.libpq = libpq
        self.database = database
        self.server = server
        self.connections: dict[int, int] = {}
        self.samples: Counter = Counter()
        self.rounds = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        import psycopg

        try:
            self._sample(psycopg)
        except psycopg.Error:  # the database went away (the run was interrupted)
            pass

    def _sample(self, psycopg) -> None:
        with psycopg.connect(self.libpq, autocommit=True) as conn:
            while not self.stop_event.is_set():
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
                    (self.database,),
                ).fetchall()
                self.rounds += 1
                if self.rounds == 40 and self.server is not None:  # 2 s into the load
                    self.connections = self.server.connections_per_worker()
                for state, wtype, wevent in rows:
                    if state == "active":
                        label = f"active: {wtype}:{wevent}" if wtype else "active: on CPU"
                    elif state == "idle in transaction":
                        label = "idle in transaction (waiting for the app)"
                    else:
                        label = state or "?"
                    self.samples[label] += 1
                time.sleep(0.05)

    def lines(self) -> list[str]:
        if not self.rounds:
            return ["  (no samples)"]
        out = [f"  {self.rounds} samples; average number of server connections in each state:"]
        for label, count in self.samples.most_common():
            out.append(f"    {count / self.rounds:5.2f}  {label}")
        return out


# --- pgbench ---------------------------------------------------------------------------------
def run_pgbench(pg: PgServer, database: str, args, meter: CpuMeter) -> tuple[float, list[str]]:
    exe = shutil.which("pgbench") or "/usr/bin/pgbench"
    common = ["-h", pg.host, "-p", str(pg.port), "-U", pg.user]
    subprocess.run(
        [exe, "-i", "-q", "-s", str(args.pgbench_scale), *common, database],
        check=True,
        capture_output=True,
        text=True,
    )
    meter.start()
    run = subprocess.run(
        [exe, "-c", str(args.clients), "-j", "2", "-T", str(args.pgbench_duration), *common, database],
        check=True,
        capture_output=True,
        text=True,
    )
    meter.stop()
    meter.transactions = None
    tx = re.search(r"number of transactions actually processed: ([0-9]+)", run.stdout)
    if tx:
        meter.transactions = int(tx.group(1))
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", run.stdout)
    if not match:
        raise RuntimeError(f"could not parse pgbench output:\n{run.stdout}\n{run.stderr}")
    keep = [
        line
        for line in run.stdout.splitlines()
        if line.startswith(("scaling factor", "number of clients", "number of threads",
                            "number of transactions actually", "latency average", "tps ="))
    ]  # fmt: skip
    return float(match.group(1)), keep


# --- profiles --------------------------------------------------------------------------------
def py_spy_path() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else shutil.which("py-spy")


def profile_worker(server: Server, mix: RequestMix, args) -> list[str]:
    spy = py_spy_path()
    if spy is None:
        return ["  py-spy not installed (pip install py-spy): skipped; see the cProfile below"]
    out_file = tempfile.NamedTemporaryFile(prefix="bench-pyspy-", suffix=".txt", delete=False).name
    seconds = args.profile_seconds
    rate = 200
    load = threading.Thread(
        target=lambda: asyncio.run(
            run_load(server, mix, args.clients, 0, seconds + 4, args.client, args.balance)
        )
    )
    load.start()
    time.sleep(1.5)  # the connections are open and busy: profile the worker holding the most
    connections = server.connections_per_worker()
    worker = max(connections, key=connections.get)
    spy_proc = subprocess.Popen(
        [spy, "record", "--pid", str(worker), "--duration", str(seconds), "--rate", str(rate),
         "--format", "raw", "--output", out_file, "--gil"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output, _ = spy_proc.communicate(timeout=60)
    load.join()
    try:
        if spy_proc.returncode != 0 or not Path(out_file).stat().st_size:
            return [f"  py-spy failed: {output.strip()[-300:]}"]
        lines = [
            f"  py-spy record --gil of worker pid {worker} ({connections[worker]} of the "
            f"{sum(connections.values())} connections) for {seconds} s under the same load "
            f"(only the thread holding the GIL is sampled: this is the worker's Python CPU):"
        ]
        return lines + summarise_collapsed(out_file, expected_samples=rate * seconds)
    finally:
        Path(out_file).unlink(missing_ok=True)


def profile_in_process(fixture: Fixture, args) -> list[str]:
    """cProfile of what one HTTP request does in the database session: the auth dependency
    (app.deps.get_principal) and app.redemptions.service.redeem, each call in its own
    session_scope() as in a request, on one thread, no HTTP."""
    import cProfile
    import io
    import pstats

    from fastapi.security import HTTPAuthorizationCredentials
    from sqlalchemy import event

    from app.db import get_engine, session_scope
    from app.deps import get_principal
    from app.redemptions import service
    from app.redemptions.schemas import RedemptionCreate

    engine = get_engine()
    stats = {"statements": 0, "sql_s": 0.0, "commit_s": 0.0}
    started: dict[int, float] = {}
    statement_kinds: Counter = Counter()

    def before(conn, cursor, statement, params, context, executemany):
        started[id(cursor)] = time.perf_counter()
        stats["statements"] += 1
        statement_kinds[" ".join(statement.split()[:3])[:60]] += 1

    def after(conn, cursor, statement, params, context, executemany):
        stats["sql_s"] += time.perf_counter() - started.pop(id(cursor), time.perf_counter())

    mix = RequestMix(fixture, args, seed=args.seed + 99)
    mix.hot_share = 0.0  # spread over elders: no lock waits, only the per-request cost
    calls = args.profile_calls
    requests = []
    for _ in range(calls):
        key, body, _kind = mix.next()
        requests.append((key, mix.key(), RedemptionCreate.model_validate_json(body)))

    def one(key, idem, body):
        with session_scope(write=True) as session:
            caller = get_principal(session, HTTPAuthorizationCredentials(scheme="Bearer", credentials=key))
            outcome = service.redeem(session, caller, key=idem, body=body)
            t = time.perf_counter()
            session.commit()  # the scope's own commit then finds nothing to do
            stats["commit_s"] += time.perf_counter() - t
            return outcome.status

    for key, idem, body in requests[:20]:  # warm caches and the connection pool
        one(key, idem, body)
    plain = requests[20 : 20 + (calls - 20) // 2]
    profiled = requests[20 + (calls - 20) // 2 :]
    # Without a profiler: what one request costs when nothing else competes for the GIL.
    t0, c0 = time.perf_counter(), time.process_time()
    for key, idem, body in plain:
        one(key, idem, body)
    plain_wall, plain_cpu = time.perf_counter() - t0, time.process_time() - c0
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    statuses: Counter = Counter()
    stats["commit_s"] = 0.0
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    for key, idem, body in profiled:
        statuses[one(key, idem, body)] += 1
    profiler.disable()
    wall = time.perf_counter() - t0
    event.remove(engine, "before_cursor_execute", before)
    event.remove(engine, "after_cursor_execute", after)
    n = len(profiled)
    per = lambda seconds: 1000 * seconds / n  # noqa: E731
    lines = [
        f"  {len(plain)} requests in-process, one at a time, no profiler: "
        f"{1000 * plain_wall / len(plain):.2f} ms wall, {1000 * plain_cpu / len(plain):.2f} ms "
        f"CPU of this process per request",
        f"    (a single connection's ceiling: {len(plain) / plain_wall:.0f} requests/s; the CPU "
        f"part runs under the worker's GIL, so one worker cannot exceed "
        f"{len(plain) / plain_cpu:.0f}/s even without HTTP)",
        f"  {n} more under cProfile (statuses {dict(statuses)}):",
        f"    {stats['statements'] / n:.1f} SQL statements per request, "
        f"{per(stats['sql_s']):.2f} ms in cursor.execute (driver + network + PostgreSQL), "
        f"{per(stats['commit_s']):.2f} ms in COMMIT, "
        f"{per(wall - stats['sql_s'] - stats['commit_s']):.2f} ms the rest (Python, inflated "
        f"by cProfile)",
        "    (plus BEGIN, sent by psycopg with the first statement, and one 'SELECT 1' pool "
        "pre-ping per checkout: not seen by these events)",
        "    statements per request:",
    ]
    for statement, count in statement_kinds.most_common(20):
        lines.append(f"      {count / n:4.1f}  {statement}")
    for sort in ("tottime", "cumulative"):
        buffer = io.StringIO()
        ps = pstats.Stats(profiler, stream=buffer)
        ps.sort_stats(sort)
        lines.append(f"    top 15 by {sort}:")
        lines.append(f"      {'ncalls':>8} {'tottime':>8} {'cumtime':>8}  function")
        for func in ps.fcn_list[:15]:
            cc, nc, tt, ct, _callers = ps.stats[func]
            filename, line, name = func
            where = f"{Path(filename).name}:{line}" if filename != "~" else ""
            if "site-packages/" in filename:
                where = filename.split("site-packages/", 1)[1] + f":{line}"
            elif "/work/main/" in filename:
                where = filename.split("/work/main/", 1)[1] + f":{line}"
            lines.append(f"      {nc:8d} {tt:8.3f} {ct:8.3f}  {name} ({where})")
    return lines


# --- main ------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=20, help="measured seconds (default 20)")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds (default 3)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections (default 8)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument(
        "--balance",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="spread the keep-alive connections evenly over the workers (default); "
        "--no-balance keeps them where the kernel put them (often all on one worker)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="load generator: a minimal asyncio HTTP/1.1 keep-alive client (default) "
        "or httpx.AsyncClient (about 10x more client CPU per request)",
    )
    parser.add_argument("--elders", type=int, default=10_000)
    parser.add_argument("--hot-elders", type=int, default=10)
    parser.add_argument("--hot-share", type=float, default=0.2)
    parser.add_argument("--pgbench-scale", type=int, default=10)
    parser.add_argument("--pgbench-duration", type=int, default=20)
    parser.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        default="auto",
        help="profile when the target is missed (auto), always or never",
    )
    parser.add_argument("--profile-seconds", type=int, default=5)
    parser.add_argument("--profile-calls", type=int, default=600)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--rush",
        action="store_true",
        help="the month-start rush: no voucher issued before the load; the issue job "
        "is started with the first requests and races them (no warm-up: the rush is "
        "measured from its first request)",
    )
    parser.add_argument(
        "--providers",
        type=int,
        default=0,
        help="this many more stations, spread over the districts, each with its own "
        "key; home services are spread over all stations (as in the city)",
    )
    parser.add_argument(
        "--ceiling",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run bench/ceiling_app.py, a one-round-trip handler, with the same "
        "client and mix, and print it beside the project (default)",
    )
    add_pg_arguments(parser)
    args = parser.parse_args()
    if args.rush:
        args.warmup = 0
    exit_cleanly_on_sigterm()
    pg = PgServer(args)
    rng = random.Random(args.seed)
    name = f"voucher_bench_{os.getpid()}"
    admin_token = f"bench-admin-{uuid.uuid4().hex}"
    t_start = time.perf_counter()

    print(f"redeem benchmark: {os.cpu_count()} cores, PostgreSQL {pg.host}:{pg.port}, "
          f"scratch databases {name} and {name}_pgbench", flush=True)  # fmt: skip
    print(idle_check(), flush=True)
    with pg.scratch_database(name) as url, pg.scratch_database(f"{name}_pgbench"):
        from app.migrate import upgrade

        t0 = time.perf_counter()
        upgrade(url)
        point_app_at(url)
        migrate_s = time.perf_counter() - t0
        fixture = seed(args, url, rng)
        print(
            f"setup: migrations {migrate_s:.1f} s; {len(fixture.providers)} providers "
            f"({fixture.timings['providers']:.1f} s), {args.elders} elders "
            f"({fixture.timings['elders']:.1f} s), {len(fixture.enrolled)} station enrolments, "
            f"{args.elders} vouchers for {fixture.month} via run_issue "
            f"({fixture.timings['vouchers']:.2f} s)",
            flush=True,
        )

        server = Server(url, args.workers, admin_token)
        sampler = None
        try:
            server.wait_ready(args.workers)
            workers = server.workers()
            print(f"server: uvicorn on {server.base}, {len(workers)} workers (pids {workers}), "
                  f"machine has {os.cpu_count()} cores", flush=True)  # fmt: skip
            natural = asyncio.run(natural_placement(server, args.clients))
            print(f"{args.clients} connections opened at once land on the workers as {natural}; the "
                  f"measured load {'spreads its connections evenly (--no-balance: as accepted)' if args.balance else 'keeps them as accepted (--no-balance)'}",
                  flush=True)  # fmt: skip

            mix = RequestMix(fixture, args, seed=args.seed)
            meter = CpuMeter({
                **{f"uvicorn worker {pid}": (lambda pid=pid: [pid]) for pid in workers},
                f"postgres backends of {name}": postgres_backends_of(name),
                "postgres background + other databases": postgres_other_pids(name, f"{name}_pgbench"),
            })  # fmt: skip
            sampler = WaitSampler(pg.libpq(name), name, server)
            print(f"load: {args.clients} connections, {args.warmup:g} s warm-up + "
                  f"{args.duration:g} s measured ...", flush=True)  # fmt: skip
            meter.start()
            sampler.start()
            issue_job = (lambda: race_issue_job(server, admin_token, fixture.month)) if args.rush else None
            load = asyncio.run(
                run_load(
                    server,
                    mix,
                    args.clients,
                    args.warmup,
                    args.duration,
                    args.client,
                    args.balance,
                    issue_job=issue_job,
                )  # fmt: skip
            )
            sampler.stop_event.set()
            meter.stop()
            sampler.join(timeout=5)

            # Ledger verify over HTTP, as an auditor would.
            import httpx

            t0 = time.perf_counter()
            verify = httpx.get(
                server.base + "/api/v1/ledger/verify",
                headers={"Authorization": f"Bearer {admin_token}"},
                timeout=120,
            )
            verify_s = time.perf_counter() - t0
            verify_body = verify.json()

            consistency = check_database(url, fixture, load)

            print(f"pgbench: initialising (-s {args.pgbench_scale}) and running ...", flush=True)
            pgbench_meter = CpuMeter({
                f"postgres backends of {name}_pgbench": postgres_backends_of(f"{name}_pgbench"),
                "postgres background + other databases": postgres_other_pids(name, f"{name}_pgbench"),
            })  # fmt: skip
            tps, pgbench_lines = run_pgbench(pg, f"{name}_pgbench", args, pgbench_meter)

            passed = report(load, tps, meter, pgbench_meter, sampler, verify, verify_body,
                            verify_s, consistency, pgbench_lines, server, args)  # fmt: skip
            if args.ceiling:
                print_block("the ceiling beside the project (same client, mix, server and database)",
                            run_ceiling(pg, name, url, fixture, args, load, tps))  # fmt: skip

            if args.profile == "always" or (args.profile == "auto" and not passed):
                floor_rps, floor_p50 = asyncio.run(run_floor(server, args.clients, 5, args.balance))
                print_block("where the time goes (0): the stack's ceiling", [
                    f"  GET /healthz (session, SELECT 1, COMMIT; no auth) with the same {args.clients} "
                    f"connections for 5 s: {floor_rps:.0f} requests/s, p50 {floor_p50:.1f} ms",
                    f"  = {floor_rps / tps:.3f} x pgbench TPS: the HTTP stack and the session alone, "
                    f"without any redemption work, already {'reach' if floor_rps / tps >= TARGET_RATIO else 'miss'} "
                    f"the ratio target of {TARGET_RATIO}",
                ])  # fmt: skip
                print_block(
                    "where the time goes (1): py-spy, one uvicorn worker, Python CPU (GIL) samples",
                    profile_worker(server, RequestMix(fixture, args, seed=args.seed + 1), args),
                )
                print_block(
                    "where the time goes (2): cProfile of app.deps.get_principal + "
                    "app.redemptions.service.redeem in-process",
                    profile_in_process(fixture, args),
                )
            retries = server.log_text().count("retrying /api/v1/redemptions")
            errors = [line for line in server.log_text().splitlines() if " ERROR " in line]
            print_block("server log", [
                f"  transaction retries (deadlock/serialization): {retries}",
                f"  ERROR lines: {len(errors)}", *[f"    {line[:200]}" for line in errors[:5]],
            ])  # fmt: skip
        finally:
            if sampler is not None:
                sampler.stop_event.set()
                sampler.join(timeout=5)
            server.stop()
    print(f"\ntotal run time {time.perf_counter() - t_start:.0f} s; scratch databases dropped")
    return 0 if passed else 1


def run_ceiling(
    pg: PgServer, name: str, url: str, fixture: Fixture, args, load: LoadResult, tps: float
) -> list[str]:
    """bench/ceiling_app.py (one round trip per request) under the same load, after the project's
    run was checked (it spends the same vouchers)."""
    from sqlalchemy import text

    from app.db import get_engine

    with get_engine().begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_ceiling_log "
                          "(id bigserial PRIMARY KEY, voucher_id uuid, amount_fen bigint, key text)"))  # fmt: skip
        if args.rush:  # the ceiling needs the month's vouchers (the rush issued them)
            conn.execute(text("SELECT 1"))
    from app.pgpool import asyncpg_dsn

    dsn = asyncpg_dsn(url)
    ceiling = Server(url, args.workers, "unused", app="ceiling_app:app", cwd=ROOT / "bench",
                     extra_env={"BENCH_CEILING_DSN": dsn, "BENCH_CEILING_MONTH": f"{fixture.month}-01"})  # fmt: skip
    try:
        ceiling.wait_ready(args.workers)
        mix = RequestMix(fixture, args, seed=args.seed + 7)
        result = asyncio.run(
            run_load(ceiling, mix, args.clients, 3, args.duration, args.client, args.balance)
        )
    finally:
        ceiling.stop()
    rps = len(result.latencies_ms) / result.duration
    project = len(load.latencies_ms) / load.duration
    p99 = percentile(result.latencies_ms, 99)
    return [
        f"  ceiling (bench/ceiling_app.py): {rps:.1f} requests/s, p50 {percentile(result.latencies_ms, 50):.1f} ms, "
        f"p99 {p99:.1f} ms, ratio {rps / tps:.3f} x pgbench",
        f"  project: {project:.1f} redemptions/s = {project / rps:.2f} x the ceiling, "
        f"{project / tps:.3f} x pgbench",
    ]


def check_database(url: str, fixture: Fixture, load: LoadResult) -> list[str]:
    """The database against what the client saw: every 201 is one posted redemption with its
    journal entry; hot vouchers' remaining balances."""
    from sqlalchemy import text

    from app.db import get_engine

    with get_engine().connect() as conn:
        posted, deducted = conn.execute(
            text("SELECT count(*), coalesce(sum(deduction_fen), 0) FROM redemptions WHERE status = 'posted'")
        ).one()
        entries = conn.execute(text("SELECT count(*) FROM journal_entries WHERE kind = 'redeem'")).scalar()
        keys = conn.execute(
            text("SELECT count(*), count(*) FILTER (WHERE response_status = 0) FROM idempotency_keys")
        ).one()
        hot = conn.execute(
            text("SELECT min(balance_fen), max(balance_fen) FROM vouchers WHERE elder_id = ANY(:ids)"),
            {"ids": [uuid.UUID(e[0]) for e in fixture.hot]},
        ).one()
        vouchers, elders_with_two, issue_lines = conn.execute(text(
            "SELECT count(*), count(*) - count(DISTINCT elder_id), "
            "(SELECT count(*) FROM journal_lines l JOIN journal_entries e ON e.id = l.entry_id "
            " WHERE e.kind = 'issue' AND l.account = 'voucher') FROM vouchers WHERE kind = 'monthly'"
        )).one()  # fmt: skip
    ok = posted == load.all_created and deducted == load.all_deducted_fen and entries == posted
    once = (
        vouchers == len(fixture.elders) + len(fixture.hot)
        and elders_with_two == 0
        and issue_lines == vouchers
    )
    rush = []
    if load.issue_job is not None:
        job = load.issue_job
        rush = [
            f"  the rush: the issue job (HTTP {job['status']}) ran {job['seconds']:.2f} s beside the first requests and "
            f"issued {job.get('issued')} vouchers; the other {vouchers - (job.get('issued') or 0)} were issued "
            "by the redemptions that came first",
        ]
    return [
        *rush,
        f"  vouchers: {vouchers} for {len(fixture.elders) + len(fixture.hot)} elders, {elders_with_two} elder(s) with two, "
        f"{issue_lines} issue journal lines -> {'each issued once' if once else 'NOT ONCE'}",
        f"  client saw {load.all_created} x 201 (warm-up included), {load.all_deducted_fen} fen deducted;"
        f" database: {posted} posted redemptions, {deducted} fen, {entries} redeem journal entries"
        f" -> {'consistent' if ok else 'INCONSISTENT'}",
        f"  idempotency keys stored: {keys[0]} ({keys[1]} without a stored response)",
        f"  hot vouchers' balance after the run: min {hot[0]} / max {hot[1]} fen of 80000",
    ]


def report(
    load,
    tps,
    meter,
    pgbench_meter,
    sampler,
    verify,
    verify_body,
    verify_s,
    consistency,
    pgbench_lines,
    server,
    args,
) -> bool:
    n = len(load.latencies_ms)
    rps = n / load.duration
    p50, p95, p99 = (percentile(load.latencies_ms, p) for p in (50, 95, 99))
    created = load.statuses.get(201, 0)
    errors = sum(c for s, c in load.statuses.items() if s == "exception" or (isinstance(s, int) and s >= 500))
    refusals = n - created - errors
    ratio = rps / tps if tps else float("nan")
    passed = (
        ratio >= TARGET_RATIO
        and p99 < TARGET_P99_MS
        and errors == 0
        and "INCONSISTENT" not in " ".join(consistency)
        and "NOT ONCE" not in " ".join(consistency)
    )

    print_block("redemptions over HTTP", [
        f"  server: {len(server.workers())} uvicorn workers; machine: {os.cpu_count()} cores; "
        f"{args.clients} concurrent keep-alive connections ({args.client} client, asyncio); "
        f"connections per worker {load.placement}",
        f"  measured window {load.duration:.1f} s after {args.warmup:g} s warm-up: {n} requests",
        f"  redemptions/s (all answers): {rps:8.1f}   (201 only: {created / load.duration:.1f}/s)",
        f"  latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(load.latencies_ms, default=float('nan')):.1f}"
        f"  mean {statistics.fmean(load.latencies_ms) if n else float('nan'):.1f}",
        f"  status: 201 posted {created}  |  refusals {refusals}  |  errors (5xx/transport) {errors}",
        *[f"    {code}: {count}" for code, count in sorted(load.codes.items())],
        *[f"    transport {name}: {count}" for name, count in load.exceptions.items()],
        "  request mix: " + ", ".join(f"{k} {100 * v / max(n, 1):.1f}%" for k, v in load.kinds.most_common()),
    ])  # fmt: skip
    print_block("CPU during the load (warm-up + measured)", [
        *meter.lines(load.all_requests, "request"),
        "  client connections per uvicorn worker (2 s into the load): "
        + (", ".join(f"pid {pid}: {n}" for pid, n in sampler.connections.items()) or "not sampled"),
    ])  # fmt: skip
    print_block("PostgreSQL backends of the bench database during the load", sampler.lines())
    print_block("ledger verify (GET /api/v1/ledger/verify)", [
        f"  HTTP {verify.status_code} in {verify_s * 1000:.0f} ms: ok={verify_body.get('ok')} "
        f"entries={verify_body.get('entries')} lines={verify_body.get('lines')} "
        f"vouchers_checked={verify_body.get('vouchers_checked')} "
        f"mismatches={len(verify_body.get('mismatches') or [])}",
        *[f"    {m}" for m in (verify_body.get("mismatches") or [])[:5]],
    ])  # fmt: skip
    print_block("database consistency", consistency)
    print_block("pgbench (TPC-B-like) on the same PostgreSQL server", [
        *[f"  {line}" for line in pgbench_lines],
        "  CPU during the pgbench run:",
        *pgbench_meter.lines(pgbench_meter.transactions, "transaction"),
    ])  # fmt: skip
    disturbed = [
        f"{label} {100 * m.foreign_share:.0f}%"
        for label, m in (("load", meter), ("pgbench", pgbench_meter))
        if m.foreign_share > 0.05
    ]
    # CPU per operation on the server side: insensitive to what else runs on the machine.
    backends = next(v for k, v in meter.result.items() if k.startswith("postgres backends of"))
    pg_backends = next(v for k, v in pgbench_meter.result.items() if k.startswith("postgres backends of"))
    worker_cpu = sum(v for k, v in meter.result.items() if k.startswith("uvicorn worker"))
    redeem_cpu_ms = 1000 * (worker_cpu + backends) / max(load.all_requests, 1)
    pgbench_cpu_ms = 1000 * pg_backends / max(pgbench_meter.transactions or 1, 1)
    print_block("result", [
        f"  redemptions/s {rps:.1f} / pgbench TPS {tps:.1f} = ratio {ratio:.3f} (target >= {TARGET_RATIO})",
        f"  server CPU per operation: redemption {redeem_cpu_ms:.2f} ms (uvicorn worker + its PostgreSQL "
        f"backend), pgbench transaction {pgbench_cpu_ms:.2f} ms (PostgreSQL backend): CPU-bound capacity "
        f"ratio {pgbench_cpu_ms / redeem_cpu_ms:.3f} (less sensitive than the throughput ratio to other load on the machine); "
        f"target <= {TARGET_CPU_MS} ms per redemption",
        f"  p99 {p99:.1f} ms (target < {TARGET_P99_MS:g} ms); errors {errors} (target 0)",
        *([f"  WARNING: other processes used part of the machine's CPU during the run "
           f"({', '.join(disturbed)}); the figures are disturbed, repeat on a quiet machine"]
          if disturbed else []),
        f"  {'PASS' if passed else 'FAIL'}",
    ])  # fmt: skip
    return passed


if __name__ == "__main__":
    sys.exit(main())
