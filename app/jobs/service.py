"""Month-start jobs (expire last month, issue this month), shared by the API, the CLI and the
scheduler. Each takes an explicit month, is safe to run twice, and records a job-run row in the
same transaction as its work."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.anomalies.errors import ScanMonthNotStarted
from app.anomalies.service import scan_month
from app.config import anomaly_thresholds as thresholds
from app.db import lock_for_transaction
from app.elders.service import refresh_eligibility
from app.errors import MonthNotEnded
from app.jobs.errors import MonthNotCurrent
from app.models.jobs import JobRun
from app.models.vouchers import Voucher
from app.rules.anomalies import scan_months
from app.rules.months import Month
from app.settlements.service import flag_overdue
from app.vouchers import monthly


def _start(session: Session, job: str, month: Month, trigger: str) -> JobRun:
    # One run of a job for a month at a time, across processes; a second waits, then finds
    # nothing left to do.
    lock_for_transaction(session, f"job:{job}:{month}")
    run = JobRun(
        job=job,
        period=month.first_day,
        status="running",
        trigger=trigger,
        counts={},
        started_at=clock.now(),
    )
    session.add(run)
    session.flush()
    return run


def _finish(run: JobRun, counts: dict) -> None:
    run.status = "succeeded"
    run.counts = counts
    run.finished_at = clock.now()


def run_issue(session: Session, month: Month, *, trigger: str) -> tuple[monthly.IssueResult, JobRun]:
    # A voucher is valid only in its own month (二(三) 当月获得,当月使用): issuing a past month
    # would only book money that expires unused, and a future month's vouchers early.
    if month != clock.current_month():
        raise MonthNotCurrent(f"当前月份为 {clock.current_month()},不能发放 {month} 的电子消费券")
    run = _start(session, "issue", month, trigger)
    result = monthly.issue_month(session, month, job_run_id=run.id, actor=trigger)
    _finish(run, {"issued": result.issued, "already_issued": result.already_issued})
    session.flush()
    return result, run


def run_expire(session: Session, month: Month, *, trigger: str) -> tuple[monthly.ExpireResult, JobRun]:
    if clock.now() < month.ends_at():
        raise MonthNotEnded(f"{month} 尚未结束,不能失效处理")
    run = _start(session, "expire", month, trigger)
    result = monthly.expire_month(session, month, job_run_id=run.id, actor=trigger)
    _finish(run, {"expired": result.expired, "released_fen": result.released_fen})
    session.flush()
    return result, run


def months_with_active_vouchers_before(session: Session, month: Month) -> list[Month]:
    """Ended months that still hold active vouchers: expiry is due (or was missed)."""
    rows = session.scalars(
        select(Voucher.month)
        .distinct()
        .where(Voucher.status == "active", Voucher.month < month.first_day)
        .order_by(Voucher.month)
    )
    return [Month.of(day) for day in rows]


def has_succeeded(session: Session, job: str, month: Month) -> bool:
    return (
        session.scalar(
            select(JobRun.id)
            .where(
                JobRun.job == job,
                JobRun.period == month.first_day,
                JobRun.status == "succeeded",
            )
            .limit(1)
        )
        is not None
    )


def list_runs(session: Session, *, limit: int = 50) -> list[JobRun]:
    return list(session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)))


def _start_daily(session: Session, job: str, trigger: str) -> JobRun:
    """A daily job's run row for today (by the service clock), one run at a time."""
    today = clock.today()
    lock_for_transaction(session, f"job:{job}:{today}")
    run = JobRun(job=job, period=today, status="running", trigger=trigger, counts={}, started_at=clock.now())
    session.add(run)
    session.flush()
    return run


def run_flag_overdue(session: Session, *, trigger: str) -> tuple[int, JobRun]:
    """The daily deadline check: stamp settlement batches whose current stage is overdue."""
    run = _start_daily(session, "flag_overdue", trigger)
    flagged = flag_overdue(session, run.period)
    _finish(run, {"flagged": flagged})
    session.flush()
    return flagged, run


def run_refresh_eligibility(session: Session, *, trigger: str) -> tuple[int, JobRun]:
    """The daily eligibility check: assessments expire and birthdays pass without any event, so
    the stored verdicts the list filters read are recomputed once a day."""
    run = _start_daily(session, "refresh_eligibility", trigger)
    changed = refresh_eligibility(session, run.period)
    _finish(run, {"changed": changed})
    session.flush()
    return changed, run


def ran_today(session: Session, job: str) -> bool:
    return (
        session.scalar(
            select(JobRun.id)
            .where(JobRun.job == job, JobRun.period == clock.today(), JobRun.status == "succeeded")
            .limit(1)
        )
        is not None
    )


def run_anomaly_scan(session: Session, month: Month, *, trigger: str):
    """Every anomaly rule over a month's redemptions (safe to repeat: nothing is found twice)."""
    if clock.now() < month.starts_at():
        raise ScanMonthNotStarted(f"{month} 尚未开始,没有可扫描的核销")
    run = _start(session, "anomaly_scan", month, trigger)
    result = scan_month(session, month)
    _finish(run, {"new": result.total, **result.found})
    session.flush()
    return result, run


def run_nightly_anomaly_scan(session: Session, *, trigger: str):
    """The daily scan: the current month, and in a month's first days also the previous one
    (app.rules.anomalies.scan_months). One run row per day, with each month's counts."""
    run = _start_daily(session, "anomaly_scan_nightly", trigger)
    counts = {}
    for month in scan_months(run.period, thresholds().scan_previous_month_days):
        result = scan_month(session, month)
        counts[str(month)] = {"new": result.total, **result.found}
    _finish(run, counts)
    session.flush()
    return counts, run
