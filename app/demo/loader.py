"""Loads the demo data through the same services the API uses.

Loaded at ``now`` (the real clock, or the sandbox clock when it is on), the demo holds:

- the registry: demo staff, providers and elders, registered at 08:00 on the 1st of the
  previous month (or now, when the previous month is outside the programme period);
- the previous month complete: its vouchers (issued at approval, as 二(三) requires, and the
  month-start job run for it), redemptions spread over the month's daytime hours with evidence
  for most of them, a few planted anomalous patterns in Chaoyang (night home services, prices
  above the reference, thirteen services to one elder in a day, two providers in the same half
  hour), then the month expired by the expiry job;
- the current month so far: vouchers issued by the month-start job, redemptions until now;
- the anomaly scan run over the previous month, and one open rectification order (整改) in
  Chaoyang.

No audit sample is drawn and no settlement batch built: those are left to whoever tries the demo.

Every write goes through the services (issue, redeem, evidence upload, expire, scan, sanctions),
so the journal balances. The previous month is written while the clock is pinned
(:func:`app.clock.pinned`, used by this module only) to the instant each step would really have
happened: a redemption a little after its service, so that the redemption rules (voucher valid
*now*, ``served_at`` in its month and not in the future) accept it as they would have then.
Everything else happens at ``now``, read once when the load starts.

Deterministic for a seed and a ``now``: each phase draws from its own seeded generator, and
elders are taken in ID-number order (database ids are random UUIDs).
"""

from __future__ import annotations

import collections
import contextlib
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum.cn import ric, uscc

from app import clock
from app.auth.principal import Principal, Role
from app.config import get_settings
from app.demo.data import (
    BUSY_DAY_PROVIDER,
    DEMO_DISTRICT_NAMES,
    DEMO_DISTRICTS,
    DEMO_PROVIDERS,
    DEMO_SALES,
    DEMO_STAFF,
    GIVEN_CHARS,
    NIGHT_PROVIDER,
    OTHER_PROVINCE_REGIONS,
    OVERLAPPING_SERVICES,
    PRICE_PROVIDER,
    SUPERVISED_DISTRICT,
    SURNAMES,
)
from app.elders import service as elder_service
from app.elders import status as elder_status
from app.elders.schemas import ElderCreate, SuspensionReason
from app.errors import AppError
from app.evidence import service as evidence_service
from app.evidence.storage import get_storage
from app.ids import parse_id
from app.jobs import service as jobs
from app.models.anomalies import Anomaly
from app.models.auth import StaffMember
from app.models.elders import Elder
from app.models.providers import Provider
from app.models.redemptions import Redemption
from app.providers import service as provider_service
from app.providers.schemas import ProviderKind
from app.redemptions import service as redemptions
from app.redemptions.schemas import RedemptionCreate
from app.reference.service import get_catalogue_item, program_period
from app.rules.evidence import EVIDENCE_TITLES, REQUIRED_EVIDENCE
from app.rules.months import BEIJING, Month
from app.sanctions import service as sanctions
from app.staff import service as staff_service

DEMO_ACTOR = Principal(role=Role.CITY_ADMIN, subject_id="demo-loader")
DEMO_MARKER_TOKEN = "demo-city-admin"
DEMO_TRIGGER = "demo"  # the job runs' trigger

ProgressCallback = Callable[[str, int, int], None]
PROGRESS_EVERY = 10  # elders between two progress calls inside a phase

# Demo services happen in the daytime (08:00–18:00), so that night warnings are only planted ones.
DAY_STARTS, DAY_HOURS = time(8), 10
# Share of last month's redemptions whose provider uploaded every required file (二(四)); the
# rest show up as missing evidence when the month is settled.
EVIDENCE_SHARE = 0.9


@dataclass
class DemoSummary:
    loaded: bool
    staff_tokens: list[tuple[str, str, str]] = field(default_factory=list)
    provider_keys: list[tuple[str, str, str]] = field(default_factory=list)
    elders: dict[str, int] = field(default_factory=dict)  # created, per district
    redemptions: int = 0  # posted in the current month
    current_month: str | None = None  # "YYYY-MM"
    previous_month: str | None = None  # "YYYY-MM"; None when it is outside the programme (skipped)
    previous_month_redemptions: int = 0  # posted in the previous month
    previous_month_expired: int = 0  # vouchers the expiry job closed for the previous month
    previous_month_released_fen: int = 0  # their unused balances, returned to the programme
    anomalies: int = 0  # open anomaly warnings: in-line ones of both months and the previous month's scan
    rectifications: int = 0  # open rectification orders


def demo_loaded(session: Session) -> bool:
    return bool(
        session.scalar(select(func.count()).select_from(StaffMember).where(StaffMember.name.like("%(演示)")))
    )


class _Progress:
    """Calls ``callback(description, done, total)`` each time ``done`` grows (never otherwise)."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self.callback, self.total, self.done = callback, total, 0

    def to(self, description: str, done: int) -> None:
        done = min(done, self.total)
        if done <= self.done:
            return
        self.done = done
        if self.callback is not None:
            self.callback(description, done, self.total)

    def step(self, description: str) -> None:
        self.to(description, self.done + 1)

    def over(self, description: str, units: int, items: Iterable) -> Iterator:
        """Yield ``items``, advancing by ``units`` in all, every PROGRESS_EVERY items."""
        items = list(items)
        start = self.done
        for index, item in enumerate(items, 1):
            yield item
            if index % PROGRESS_EVERY == 0 or index == len(items):
                self.to(description, start + units * index // len(items))
        self.to(description, start + units)


def _pinned_at(instant: datetime | None):
    return clock.pinned(instant) if instant is not None else contextlib.nullcontext()


def load_demo(
    session: Session,
    *,
    elders_per_district: int = 150,
    seed: int = 2026,
    progress: ProgressCallback | None = None,
) -> DemoSummary:
    """Create the demo (see the module's docstring) unless it exists already (safe to repeat:
    a second call changes nothing and returns ``loaded=False``).

    ``progress(description, done, total)``, when given, is called as the work advances:
    ``description`` names the phase in progress (Chinese, for a progress bar), ``done`` of
    ``total`` units are finished. ``total`` is fixed for the whole load; ``done`` only grows
    and ends equal to ``total``. A unit is one elder in the registry and redemption phases, one
    step elsewhere (issuing, expiring, scanning, …).
    """
    if demo_loaded(session):
        return DemoSummary(loaded=False)
    # The whole load happens at one instant, read once: the current month's data is "as of now",
    # and the services need not read the sandbox clock's row at every step.
    now = clock.now()
    with clock.pinned(now):
        return _load(session, now, elders_per_district, seed, progress)


def _load(
    session: Session, now: datetime, n: int, seed: int, progress: ProgressCallback | None
) -> DemoSummary:
    current = Month.containing(now)
    previous = current.previous()
    with_previous = program_period(session).includes(previous)
    districts = list(DEMO_DISTRICTS)
    # Units: staff; per district its providers, its elders and their redemptions this month;
    # this month's issue. With the previous month: its issue, planting, redemptions, expiry,
    # the anomaly scan and the rectification order.
    total = 1 + len(districts) * (1 + n + n) + 1
    if with_previous:
        total += 1 + 1 + len(districts) * n + 1 + 1 + 1
    tracker = _Progress(progress, total)
    summary = DemoSummary(
        loaded=True,
        current_month=str(current),
        previous_month=str(previous) if with_previous else None,
    )

    # Registered and approved at 08:00 on the 1st of the previous month (or of this month, when
    # the previous one is outside the programme): services come after the approval.
    registered_at = (previous if with_previous else current).starts_at() + timedelta(hours=8)
    registered_at = min(registered_at, now)
    with clock.pinned(registered_at):
        staff = _load_staff(session, summary)
        tracker.step("创建演示工作人员账号")
        providers: dict[str, list[Provider]] = {}
        approved: dict[str, list] = {}
        for district_code, slug in DEMO_DISTRICTS.items():
            name = DEMO_DISTRICT_NAMES[district_code]
            rng = random.Random(f"{seed}:registry:{district_code}")
            providers[district_code] = _load_providers(session, rng, district_code, slug, summary)
            tracker.step(f"登记{name}服务机构")
            summary.elders[district_code] = _load_elders(
                session, rng, district_code, tracker.over(f"登记{name}老年人", n, range(n))
            )
            approved[district_code] = _approved_elders(session, district_code)

    if with_previous:
        # Vouchers were issued as each elder was approved; the month-start job finds them issued.
        with clock.pinned(previous.starts_at() + timedelta(hours=9)):
            jobs.run_issue(session, previous, trigger=DEMO_TRIGGER)
        tracker.step(f"发放 {previous} 电子消费券")
        planted = _plant_anomalies(
            session,
            providers[SUPERVISED_DISTRICT],
            approved[SUPERVISED_DISTRICT],
            previous,
            random.Random(f"{seed}:planted"),
        )
        summary.previous_month_redemptions += planted
        tracker.step(f"植入 {previous} 异常交易样例")
        start = registered_at + timedelta(hours=1)
        for district_code in districts:
            name = DEMO_DISTRICT_NAMES[district_code]
            summary.previous_month_redemptions += _load_redemptions(
                session,
                random.Random(f"{seed}:{previous}:{district_code}"),
                providers[district_code],
                tracker.over(f"{name} {previous} 核销与凭证", n, approved[district_code]),
                month=previous,
                window=(start, previous.ends_at()),
                visits=(0, 1, 2, 2, 3, 4),
                pin=True,
            )
        result, _ = jobs.run_expire(session, previous, trigger=DEMO_TRIGGER)
        summary.previous_month_expired = result.expired
        summary.previous_month_released_fen = result.released_fen
        tracker.step(f"{previous} 到期失效处理")

    jobs.run_issue(session, current, trigger=DEMO_TRIGGER)
    tracker.step(f"发放 {current} 电子消费券")
    for district_code in districts:
        name = DEMO_DISTRICT_NAMES[district_code]
        summary.redemptions += _load_redemptions(
            session,
            random.Random(f"{seed}:{current}:{district_code}"),
            providers[district_code],
            tracker.over(f"{name} {current} 核销", n, approved[district_code]),
            month=current,
            window=(max(current.starts_at(), registered_at + timedelta(hours=1)), now - timedelta(minutes=1)),
            visits=(0, 1, 2, 3),
            pin=False,
        )

    if with_previous:
        # The scan the nightly job runs over the month that ended (the current month's is left
        # to the scheduler's first tick; its in-line warnings are already there).
        jobs.run_anomaly_scan(session, previous, trigger=DEMO_TRIGGER)
        tracker.step(f"{previous} 异常交易扫描")
        _open_rectification(session, staff, providers[SUPERVISED_DISTRICT][NIGHT_PROVIDER], previous)
        tracker.step("责令限期整改示例")
    summary.anomalies = int(
        session.scalar(select(func.count()).select_from(Anomaly).where(Anomaly.status == "open")) or 0
    )
    summary.rectifications = 1 if with_previous else 0
    session.flush()
    return summary


# --- registry --------------------------------------------------------------------------------------
def _load_staff(session: Session, summary: DemoSummary) -> dict[str, Principal]:
    """The demo staff; returns each one's principal by token."""
    staff = {}
    for role, district_code, name, token in DEMO_STAFF:
        member, _ = staff_service.create_staff(
            session,
            name=name,
            role=Role(role),
            district_code=district_code,
            created_by=DEMO_ACTOR,
            token=token,
        )
        staff[token] = Principal(role=Role(role), subject_id=str(member.id), district_code=district_code)
        summary.staff_tokens.append((name, role, token))
    return staff


def _load_providers(
    session: Session, rng: random.Random, district_code: str, slug: str, summary: DemoSummary
) -> list[Provider]:
    created = []
    for index, row in enumerate(DEMO_PROVIDERS[district_code]):
        kind, name = row[0], row[1]
        parent_id = str(created[row[2]].id) if kind == "partner" else None
        api_key = f"demo-{slug}-provider-{index + 1}"
        provider, _ = provider_service.create_provider(
            session,
            DEMO_ACTOR,
            name=name,
            kind=ProviderKind(kind),
            district_code=district_code,
            credit_code=_credit_code(rng, district_code),
            parent_id=parent_id,
            api_key=api_key,
        )
        created.append(provider)
        summary.provider_keys.append((name, kind, api_key))
    return created


def _credit_code(rng: random.Random, district_code: str) -> str:
    body = f"52{district_code}MJ{rng.randrange(10**7):07d}"
    return body + uscc.calc_check_digit(body)


def _id_number(rng: random.Random, region: str, birth: date) -> str:
    body = f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))


def _weighted(rng: random.Random, table: list[tuple[object, int]]):
    return rng.choices([value for value, _ in table], weights=[weight for _, weight in table])[0]


def _load_elders(session: Session, rng: random.Random, district_code: str, slots: Iterable) -> int:
    today = clock.today()
    created = 0
    for _ in slots:
        residency = _weighted(
            rng,
            [
                ("beijing_hukou", 80),
                ("residence_permit", 12),
                ("institution_resident", 8),
            ],
        )
        region = district_code if residency == "beijing_hukou" else rng.choice(OTHER_PROVINCE_REGIONS)
        age_years = _weighted(
            rng,
            [
                (rng.randint(60, 79), 45),
                (rng.randint(80, 99), 53),
                (rng.randint(55, 59), 2),
            ],
        )
        birth = today - timedelta(days=age_years * 365 + rng.randrange(365))
        level = _weighted(
            rng,
            [
                ("moderate", 35),
                ("severe", 30),
                ("complete", 15),
                ("mild", 15),
                ("intact", 5),
            ],
        )
        benefits = [
            benefit
            for benefit, share in [
                ("ltci", 15),
                ("disability_care_allowance", 7),
                ("destitute_support", 3),
                ("basic_service_upgrade", 2),
                ("hardship_institution_subsidy", 2),
            ]
            if rng.randrange(100) < share
        ]
        stale = rng.randrange(100) < 4  # a result past its validity
        assessed_on = today - timedelta(days=rng.randint(380, 500) if stale else rng.randint(0, 330))
        data = ElderCreate(
            name=_name(rng),
            id_number=_id_number(rng, region, birth),
            district_code=district_code,
            residency=residency,
            disability_level=level,
            assessed_on=max(assessed_on, birth + timedelta(days=60 * 365)),
            benefits=benefits,
        )
        try:
            elder = elder_service.create_elder(session, DEMO_ACTOR, data)
        except AppError:
            continue  # a rare duplicate ID number from the generator
        created += 1
        if not elder.eligible or rng.randrange(100) < 10:
            continue  # stays pending: ineligible, or not reviewed yet
        elder_status.approve_elder(session, DEMO_ACTOR, elder)  # issues this month's voucher
        if rng.randrange(100) < 5:
            reason = rng.choice(
                [
                    SuspensionReason.MOVED_OUT,
                    SuspensionReason.DECEASED,
                    SuspensionReason.NO_LONGER_ELIGIBLE,
                ]
            )
            elder_status.suspend_elder(
                session, DEMO_ACTOR, elder, reason=reason.value, died_on=None, note=None
            )
    return created


def _approved_elders(session: Session, district_code: str) -> list:
    """The district's approved elders' ids, in a stable order (by ID number)."""
    return list(
        session.scalars(
            select(Elder.id)
            .where(Elder.district_code == district_code, Elder.status == "approved")
            .order_by(Elder.id_number)
        )
    )


# --- redemptions -----------------------------------------------------------------------------------
def _caller(provider: Provider) -> Principal:
    return Principal(role=Role.PROVIDER, subject_id=str(provider.id), district_code=provider.district_code)


def _daytime(rng: random.Random, start: datetime, end: datetime) -> datetime | None:
    """A random daytime instant (Beijing) in [start, end), or None when there is hardly any."""
    first, last = start.astimezone(BEIJING).date(), end.astimezone(BEIJING).date()
    for _ in range(5):
        day = first + timedelta(days=rng.randrange((last - first).days + 1))
        at = datetime.combine(day, DAY_STARTS, BEIJING) + timedelta(seconds=rng.randrange(DAY_HOURS * 3600))
        if start <= at < end:
            return at
    return None


def _redeem(
    session: Session,
    provider: Provider,
    *,
    key: str,
    elder_id,
    item: int,
    amount_fen: int,
    served_at: datetime,
    recorded_at: datetime | None,
) -> str | None:
    """One redemption through the service, at ``recorded_at`` (pinned) or now: its id, or None
    if it was refused (e.g. the voucher is used up; the service said why)."""
    body = RedemptionCreate(
        elder_id=str(elder_id),
        item=item,
        amount_fen=amount_fen,
        ltci_paid_fen=0,
        served_at=served_at,
        id_checked=True,
    )
    with _pinned_at(recorded_at):
        outcome = redemptions.redeem(session, _caller(provider), key=key, body=body)
    return outcome.body["id"] if outcome.status == 201 else None


def _upload_evidence(session: Session, provider: Provider, redemption_id: str, at: datetime) -> None:
    """Every file 二(四) requires for the redemption's category, as the provider uploads them."""
    redemption = session.get(Redemption, parse_id(redemption_id))
    storage = get_storage()
    max_bytes = get_settings().evidence.max_bytes
    with clock.pinned(at):
        for kind in REQUIRED_EVIDENCE.get(redemption.category, ()):
            title = EVIDENCE_TITLES[kind]
            evidence_service.upload(
                session,
                _caller(provider),
                redemption,
                kind=kind,
                filename=f"{title}.pdf",
                declared_type="application/pdf",
                data=_evidence_pdf(kind),
                max_bytes=max_bytes,
                storage=storage,
            )


def _evidence_pdf(kind: str) -> bytes:
    return (
        b"%PDF-1.4\n% voucher demo evidence: " + kind.encode() + b"\n"
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
        b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
        b"trailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _price(session: Session, rng: random.Random, item: int, typical_fen: int) -> int:
    """A price around the typical one, never above the catalogue's reference maximum."""
    amount = max(100, typical_fen + rng.randint(-typical_fen // 5, typical_fen // 5))
    entry = get_catalogue_item(session, item)
    if entry is not None and entry.ref_price_max_fen is not None:
        amount = min(amount, entry.ref_price_max_fen)
    return amount


def _load_redemptions(
    session: Session,
    rng: random.Random,
    providers: list[Provider],
    elders: Iterable,
    *,
    month: Month,
    window: tuple[datetime, datetime],
    visits: tuple[int, ...],
    pin: bool,
) -> int:
    """Random daytime redemptions in ``window`` for the given elders. With ``pin`` (a past month)
    each is recorded a little after its service, with its evidence for most; else now."""
    start, end = window
    sellers = [p for p in providers if p.kind in DEMO_SALES]
    if end - start < timedelta(hours=1) or not sellers:
        collections.deque(elders, maxlen=0)  # nothing to redeem; consuming still advances the progress
        return 0
    posted = 0
    for index, elder_id in enumerate(elders):
        for visit in range(rng.choice(visits)):
            provider = rng.choice(sellers)
            item, price = rng.choice(DEMO_SALES[provider.kind])
            served_at = _daytime(rng, start, end)
            if served_at is None:
                continue
            recorded_at = None
            if pin:
                recorded_at = min(
                    served_at + timedelta(minutes=rng.randint(5, 180)), end - timedelta(seconds=1)
                )
            redemption_id = _redeem(
                session,
                provider,
                key=f"demo-{month}-{index}-{visit}",
                elder_id=elder_id,
                item=item,
                amount_fen=_price(session, rng, item, price),
                served_at=served_at,
                recorded_at=recorded_at,
            )
            if redemption_id is None:
                continue
            posted += 1
            if pin and rng.random() < EVIDENCE_SHARE:
                _upload_evidence(session, provider, redemption_id, recorded_at)
    return posted


# --- supervision -----------------------------------------------------------------------------------
def _plant_anomalies(
    session: Session, providers: list[Provider], elders: list, month: Month, rng: random.Random
) -> int:
    """Patterns the anomaly rules exist for (docs/anomalies.md), in ``month``: three night home
    services, three prices far above the reference, thirteen services to one elder in one day,
    and two elders served by two providers within half an hour. Each planted elder is a
    different one, taken before the random redemptions so that the vouchers have the balance."""
    chosen = rng.sample(elders, min(9, len(elders)))
    night, price, busy, overlap = chosen[0:3], chosen[3:6], chosen[6:7], chosen[7:9]
    last = month.last_day.day

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(month.first_day.replace(day=min(day, last)), time(hour, minute), BEIJING)

    # (provider index, elder, item, amount, served_at, evidence uploaded)
    plan: list[tuple[int, object, int, int, datetime, bool]] = []
    for elder, served in zip(night, (at(6, 23, 20), at(13, 22, 45), at(20, 5, 10)), strict=False):
        plan.append((NIGHT_PROVIDER, elder, 22, 4500, served, False))  # 清洁居室 at night, no record
    for elder, day in zip(price, (9, 16, 23), strict=False):
        plan.append((PRICE_PROVIDER, elder, 17, 2800, at(day, 10), True))  # 洗发, reference max 20 yuan
    for elder in busy:
        menu = [(7, 800), (38, 1200), (46, 1200), (13, 2000), (17, 1500)]
        for n in range(13):
            item, amount = menu[n % len(menu)]
            plan.append((BUSY_DAY_PROVIDER, elder, item, amount, at(11, 8) + timedelta(minutes=40 * n), True))
    for elder, (day, hour), services in zip(overlap, ((12, 9), (19, 14)), OVERLAPPING_SERVICES, strict=False):
        for minute, (provider_index, item, amount) in zip((30, 45), services, strict=True):
            plan.append((provider_index, elder, item, amount, at(day, hour, minute), True))
    posted = 0
    for number, (provider_index, elder, item, amount, served_at, evidence) in enumerate(plan):
        provider = providers[provider_index]
        redemption_id = _redeem(
            session,
            provider,
            key=f"demo-{month}-planted-{number}",
            elder_id=elder,
            item=item,
            amount_fen=amount,
            served_at=served_at,
            recorded_at=served_at + timedelta(minutes=20),
        )
        if redemption_id is not None:
            posted += 1
            if evidence:
                _upload_evidence(session, provider, redemption_id, served_at + timedelta(minutes=30))
    return posted


def _open_rectification(
    session: Session, staff: dict[str, Principal], provider: Provider, month: Month
) -> None:
    officer = next(
        p
        for p in staff.values()
        if p.role is Role.DISTRICT_CIVIL and p.district_code == provider.district_code
    )
    sanctions.open_rectification(
        session,
        officer,
        provider,
        reason=f"{month} 多笔夜间上门服务预警,服务记录与核销凭证缺失,责令限期整改并补充服务记录",
        working_days=None,
    )
