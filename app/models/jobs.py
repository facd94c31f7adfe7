from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigIntegerPK, UtcDateTime, sql_in


class JobRun(Base):
    """One run of a scheduled or requested job, with what it did."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint(sql_in("status", ("running", "succeeded", "failed")), name="status"),
        Index(None, "job", "period", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(32))
    period: Mapped[date] = mapped_column(Date)  # the month worked on (its 1st), or the day for daily jobs
    status: Mapped[str] = mapped_column(String(10))
    trigger: Mapped[str] = mapped_column(String(64))  # "schedule", "api:<actor>", "cli"
    counts: Mapped[dict] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SchedulerLease(Base):
    """Which process may run the scheduler: one lease row, renewed while it lives."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
