"""The record of each report a district submits to the city (三(二) quarterly by 3/25, 6/25,
9/25, 12/25; 三(三) annual summary by 12/10): who, when, late or not, the district's own words,
and the figures as they stood. A district submits each report once; the schedule shows every
report of a year with its due day and whether it is submitted, late or overdue."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import clock
from app.auth.principal import Principal
from app.auth.scope import district_filter, ensure_district_in_scope
from app.models.reference import District
from app.models.reports import ReportSubmission
from app.reference.service import ensure_district
from app.reports.annual import annual_report
from app.reports.errors import ReportAlreadySubmitted, ReportNotDue
from app.reports.service import quarterly_report
from app.rules.refusals import Refusal
from app.rules.reports import ANNUAL, QUARTERLY, decide_submission, report_due, report_overdue


def _as_json(report) -> dict:
    """A report's dataclasses as plain JSON (dates as ISO text): the snapshot kept on submission."""
    return json.loads(json.dumps(asdict(report), default=str, ensure_ascii=False))


def submit(
    session: Session,
    caller: Principal,
    *,
    district_code: str,
    kind: str,
    year: int,
    quarter: int | None,
    summary: str | None,
) -> ReportSubmission:
    """Record the submission of one report, with its figures as they are now
    (app.rules.reports.decide_submission); REPORT_ALREADY_SUBMITTED the second time."""
    ensure_district(session, district_code)
    ensure_district_in_scope(caller, district_code)
    now = clock.now()
    decision = decide_submission(kind, year, quarter, now)
    if isinstance(decision, Refusal):
        raise ReportNotDue(decision.detail)
    if kind == QUARTERLY:
        report = quarterly_report(
            session, caller, district_code=district_code, year=year, quarter=decision.quarter
        )
    else:
        report = annual_report(session, caller, district_code=district_code, year=year)
    submission = ReportSubmission(
        id=uuid.uuid4(),
        district_code=district_code,
        kind=kind,
        year=year,
        quarter=decision.quarter,
        due_on=decision.due_on,
        submitted_at=now,
        submitted_by=caller.actor,
        late=decision.late,
        summary=summary,
        figures=_as_json(report),
    )
    try:
        # The unique (district, kind, year, quarter) settles two officers submitting at once.
        with session.begin_nested():
            session.add(submission)
            session.flush()
    except IntegrityError:
        raise ReportAlreadySubmitted("该报告已报送,不能重复报送") from None
    return submission


@dataclass(frozen=True)
class ScheduledReport:
    district_code: str
    district_name: str
    kind: str
    year: int
    quarter: int | None
    due_on: date
    submission: ReportSubmission | None
    overdue: bool


def schedule(
    session: Session, caller: Principal, *, district_code: str | None, year: int
) -> list[ScheduledReport]:
    """Every report a district owes for ``year`` (four quarterly, one annual), in due order, each
    with its submission if any; for a city-wide caller, every district's."""
    district_code = district_filter(caller, district_code)
    districts = select(District).order_by(District.code)
    if district_code is not None:
        districts = districts.where(District.code == district_code)
    submitted = {
        (s.district_code, s.kind, s.quarter): s
        for s in session.scalars(select(ReportSubmission).where(ReportSubmission.year == year))
    }
    today = clock.today()
    owed = [(QUARTERLY, q) for q in (1, 2, 3, 4)] + [(ANNUAL, 0)]
    rows = []
    for district in session.scalars(districts):
        for kind, quarter in owed:
            submission = submitted.get((district.code, kind, quarter))
            due = report_due(kind, year, quarter)
            rows.append(
                ScheduledReport(
                    district_code=district.code,
                    district_name=district.name,
                    kind=kind,
                    year=year,
                    quarter=quarter or None,
                    due_on=due,
                    submission=submission,
                    overdue=report_overdue(today, due, submission is not None),
                )
            )
    return sorted(rows, key=lambda r: (r.district_code, r.due_on))
