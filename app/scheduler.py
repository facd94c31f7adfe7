"""The scheduled jobs, run in exactly one process.

Every process that starts a :class:`JobScheduler` competes for one lease row
(``scheduler_leases``); only the holder runs jobs, and it renews the lease while it lives, so
several web workers or a stray second ``voucher scheduler`` never do the work twice. The jobs
themselves are also safe to run twice (see ``app.jobs.service``).

Once a day it also flags settlement batches whose current stage is past its deadline, and runs
the nightly anomaly scan.

A tick every minute, plus one at 00:00 Asia/Shanghai, asks :func:`app.rules.schedule.due_jobs`
what is due *now* by the service clock, so a run missed while the service was down is caught
up at the next start, and the sandbox clock drives the same code in tests.

Logging: a routine tick (nothing due, the lease renewed) is DEBUG, and so are APScheduler's own
"Running job"/"executed successfully" lines for the tick (:class:`RoutineTicksAtDebug`); job runs,
failures and the lease changing hands are INFO or above.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app import clock
from app.db import dialect_insert, session_scope
from app.jobs import service as jobs
from app.models.jobs import JobRun, SchedulerLease
from app.reference.service import program_period
from app.rules.months import BEIJING, Month
from app.rules.schedule import DueJob, due_jobs

log = logging.getLogger(__name__)

LEASE_NAME = "month-jobs"
LEASE_SECONDS = 120
APSCHEDULER_EXECUTOR_LOGGER = "apscheduler.executors.default"


class RoutineTicksAtDebug(logging.Filter):
    """APScheduler logs every run of the tick at INFO (two lines a minute): lowered to DEBUG, and
    dropped unless its logger is enabled for DEBUG. Warnings and errors pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def quiet_routine_ticks() -> None:
    """Install :class:`RoutineTicksAtDebug` once on APScheduler's executor logger."""
    executor_log = logging.getLogger(APSCHEDULER_EXECUTOR_LOGGER)
    if not any(isinstance(f, RoutineTicksAtDebug) for f in executor_log.filters):
        executor_log.addFilter(RoutineTicksAtDebug())


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire_lease(session: Session, holder: str) -> bool:
    """Take or renew the lease; True when this holder has it. Lease times are real time."""
    now = clock.system_now()
    expires = now + timedelta(seconds=LEASE_SECONDS)
    taken = session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME)
        .where((SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now))
        .values(holder=holder, expires_at=expires)
    ).rowcount
    if taken:
        return True
    inserted = session.execute(
        dialect_insert(session)(SchedulerLease)
        .values(name=LEASE_NAME, holder=holder, expires_at=expires)
        .on_conflict_do_nothing()
        .returning(SchedulerLease.name)
    ).first()
    return inserted is not None


def release_lease(session: Session, holder: str) -> None:
    session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
        .values(expires_at=clock.system_now())
    )


def pending_jobs(session: Session) -> list[DueJob]:
    current = clock.current_month()
    issued = {
        Month.of(day)
        for day in session.scalars(
            select(JobRun.period).where(
                JobRun.job == "issue",
                JobRun.status == "succeeded",
                JobRun.period == current.first_day,
            )
        )
    }
    return due_jobs(
        clock.now(),
        program_period(session),
        months_with_active_vouchers=jobs.months_with_active_vouchers_before(session, current),
        issued_months=issued,
    )


def run_due_jobs(holder: str) -> list[dict]:
    """One tick: if this process holds the lease, run every due job, each in its own
    transaction. Returns what was run (empty when not the leader or nothing was due)."""
    with session_scope() as session:
        if not acquire_lease(session, holder):
            return []
        due = pending_jobs(session)
    done = []
    for job in due:
        with session_scope() as session:
            if job.job == "expire":
                result, run = jobs.run_expire(session, job.month, trigger="schedule")
                counts = {
                    "expired": result.expired,
                    "released_fen": result.released_fen,
                }
            else:
                result, run = jobs.run_issue(session, job.month, trigger="schedule")
                counts = {
                    "issued": result.issued,
                    "already_issued": result.already_issued,
                }
        done.append({"job": job.job, "month": str(job.month), "job_run_id": run.id, **counts})
    return done


def run_daily_jobs(holder: str) -> list[dict]:
    """Once a day (by the service clock), if this process holds the lease: flag overdue
    settlement stages, refresh stored eligibility, then scan for anomalies (each in its own
    transaction)."""
    done = []
    with session_scope() as session:
        if not acquire_lease(session, holder):
            return []
        if not jobs.ran_today(session, "flag_overdue"):
            flagged, run = jobs.run_flag_overdue(session, trigger="schedule")
            done.append(
                {"job": "flag_overdue", "day": str(clock.today()), "job_run_id": run.id, "flagged": flagged}
            )
    with session_scope() as session:
        if not jobs.ran_today(session, "refresh_eligibility"):
            changed, run = jobs.run_refresh_eligibility(session, trigger="schedule")
            done.append(
                {
                    "job": "refresh_eligibility",
                    "day": str(clock.today()),
                    "job_run_id": run.id,
                    "changed": changed,
                }
            )
    # The nightly anomaly scan: the first tick after 00:00 covers the day that just ended.
    with session_scope() as session:
        if not jobs.ran_today(session, "anomaly_scan_nightly"):
            counts, run = jobs.run_nightly_anomaly_scan(session, trigger="schedule")
            done.append(
                {"job": "anomaly_scan_nightly", "day": str(clock.today()), "job_run_id": run.id, **counts}
            )
    return done


class JobScheduler:
    def __init__(self, *, blocking: bool = False) -> None:
        self.holder = holder_id()
        self.leading: bool | None = None  # unknown until the first tick
        quiet_routine_ticks()
        scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
        self._scheduler = scheduler_class(timezone=BEIJING)
        self._scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=60),
            id="tick",
            max_instances=1,
            coalesce=True,
        )
        self._scheduler.add_job(
            self.tick,
            CronTrigger(hour=0, minute=0, second=1, timezone=BEIJING),
            id="month-start",
            max_instances=1,
        )

    def tick(self) -> None:
        try:
            done = run_due_jobs(self.holder) + run_daily_jobs(self.holder)
            self._note_lease()
        except Exception:  # a failed tick is logged and retried at the next one
            log.exception("scheduled jobs failed; will retry at the next tick")
            return
        for job in done:
            log.info("job run: %s", job)
        if not done:
            log.debug("tick: nothing due (%s)", self.holder)

    def _note_lease(self) -> None:
        """INFO when this process takes or loses the lease; DEBUG when nothing changed."""
        with session_scope(write=False) as session:
            holder = session.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == LEASE_NAME))
        leading = holder == self.holder
        if leading != self.leading:
            log.info("lease %s %s by %s", LEASE_NAME, "taken" if leading else "held elsewhere", self.holder)
        else:
            log.debug("lease %s unchanged (%s)", LEASE_NAME, "held" if leading else "not held")
        self.leading = leading

    def start(self) -> None:
        self.tick()  # catch up at start-up
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        with session_scope() as session:
            release_lease(session, self.holder)
