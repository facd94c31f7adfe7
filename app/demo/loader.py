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

The phases, each in its own module: the registry (app/demo/registry.py), redemptions
(app/demo/redemptions.py) and the supervision examples (app/demo/supervision.py); this module
runs them in order, with the month-start and month-end jobs between them.
"""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.demo.data import DEMO_DISTRICT_NAMES, DEMO_DISTRICTS, NIGHT_PROVIDER, SUPERVISED_DISTRICT
from app.demo.plan import DEMO_TRIGGER, DemoPlan, DemoRegistry, DemoSummary
from app.demo.progress import Progress, ProgressCallback
from app.demo.redemptions import load_redemptions
from app.demo.registry import load_registry
from app.demo.supervision import open_rectification, plant_anomalies
from app.jobs import service as jobs
from app.models.anomalies import Anomaly
from app.models.auth import StaffMember
from app.reference.service import program_period
from app.rules.months import Month


def demo_loaded(session: Session) -> bool:
    return bool(
        session.scalar(select(func.count()).select_from(StaffMember).where(StaffMember.name.like("%(演示)")))
    )


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
    previous = Month.containing(now).previous()
    plan = DemoPlan(
        now=now,
        elders_per_district=elders_per_district,
        seed=seed,
        districts=tuple(DEMO_DISTRICTS),
        with_previous=program_period(session).includes(previous),
    )
    with clock.pinned(now):
        return _load(session, plan, Progress(progress, plan.units))


def _load(session: Session, plan: DemoPlan, tracker: Progress) -> DemoSummary:
    summary = DemoSummary(
        loaded=True,
        current_month=str(plan.current),
        previous_month=str(plan.previous) if plan.with_previous else None,
    )
    registry = load_registry(session, plan, tracker, summary)
    if plan.with_previous:
        _load_previous_month(session, plan, registry, tracker, summary)
    _load_current_month(session, plan, registry, tracker, summary)
    if plan.with_previous:
        _supervise_previous_month(session, plan, registry, tracker)
    summary.anomalies = int(
        session.scalar(select(func.count()).select_from(Anomaly).where(Anomaly.status == "open")) or 0
    )
    summary.rectifications = 1 if plan.with_previous else 0
    session.flush()
    return summary


def _load_previous_month(
    session: Session, plan: DemoPlan, registry: DemoRegistry, tracker: Progress, summary: DemoSummary
) -> None:
    """The previous month complete: issued, the planted patterns, redemptions with evidence, expired."""
    previous = plan.previous
    # Vouchers were issued as each elder was approved; the month-start job finds them issued.
    with clock.pinned(previous.starts_at() + timedelta(hours=9)):
        jobs.run_issue(session, previous, trigger=DEMO_TRIGGER)
    tracker.step(f"发放 {previous} 电子消费券")
    summary.previous_month_redemptions += plant_anomalies(
        session,
        registry.providers[SUPERVISED_DISTRICT],
        registry.approved[SUPERVISED_DISTRICT],
        previous,
        random.Random(f"{plan.seed}:planted"),
    )
    tracker.step(f"植入 {previous} 异常交易样例")
    start = plan.registered_at + timedelta(hours=1)
    for district_code in plan.districts:
        name = DEMO_DISTRICT_NAMES[district_code]
        summary.previous_month_redemptions += load_redemptions(
            session,
            random.Random(f"{plan.seed}:{previous}:{district_code}"),
            registry.providers[district_code],
            tracker.over(
                f"{name} {previous} 核销与凭证", plan.elders_per_district, registry.approved[district_code]
            ),
            month=previous,
            window=(start, previous.ends_at()),
            visits=(0, 1, 2, 2, 3, 4),
            pin=True,
        )
    result, _ = jobs.run_expire(session, previous, trigger=DEMO_TRIGGER)
    summary.previous_month_expired = result.expired
    summary.previous_month_released_fen = result.released_fen
    tracker.step(f"{previous} 到期失效处理")


def _load_current_month(
    session: Session, plan: DemoPlan, registry: DemoRegistry, tracker: Progress, summary: DemoSummary
) -> None:
    """The current month so far: issued by the month-start job, redeemed until a minute ago."""
    current = plan.current
    jobs.run_issue(session, current, trigger=DEMO_TRIGGER)
    tracker.step(f"发放 {current} 电子消费券")
    start = max(current.starts_at(), plan.registered_at + timedelta(hours=1))
    for district_code in plan.districts:
        name = DEMO_DISTRICT_NAMES[district_code]
        summary.redemptions += load_redemptions(
            session,
            random.Random(f"{plan.seed}:{current}:{district_code}"),
            registry.providers[district_code],
            tracker.over(
                f"{name} {current} 核销", plan.elders_per_district, registry.approved[district_code]
            ),
            month=current,
            window=(start, plan.now - timedelta(minutes=1)),
            visits=(0, 1, 2, 3),
            pin=False,
        )


def _supervise_previous_month(
    session: Session, plan: DemoPlan, registry: DemoRegistry, tracker: Progress
) -> None:
    """The scan the nightly job runs over the month that ended (the current month's is left to
    the scheduler's first tick; its in-line warnings are already there), and one rectification
    order."""
    jobs.run_anomaly_scan(session, plan.previous, trigger=DEMO_TRIGGER)
    tracker.step(f"{plan.previous} 异常交易扫描")
    night_provider = registry.providers[SUPERVISED_DISTRICT][NIGHT_PROVIDER]
    open_rectification(session, registry.staff, night_provider, plan.previous)
    tracker.step("责令限期整改示例")
