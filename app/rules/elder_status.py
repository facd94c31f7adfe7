"""An elder's status in the registry (京民发〔2026〕6号 二(一)-(三)): registration, approval,
suspension and the death record, the correction of a mistaken death record, and what an
approved ability assessment changes.

Pure: the elder's facts, the request and ``now`` are arguments. Each decision returns what to
write, or a :class:`Refusal` whose code is the API's error code (the service raises it and
writes nothing), so that the rules read as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.rules.eligibility import ELIGIBLE_LEVELS, DisabilityLevel, Eligibility, reasons_with_titles
from app.rules.entitlement import DECEASED, first_voucher_month
from app.rules.identity import birth_date_of, normalise_id_number
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal

PENDING, APPROVED, SUSPENDED = "pending", "approved", "suspended"
# The suspension reason an approved assessment below moderate sets (app.models.elders).
ASSESSED_BELOW_MODERATE = "assessed_below_moderate"
# The status-history reason of a city admin's correction of a mistaken death record.
DEATH_CORRECTED = "death_record_corrected"


@dataclass(frozen=True)
class ElderState:
    status: str  # pending | approved | suspended
    suspension_reason: str | None
    birth_date: date
    assessed_on: date

    @property
    def deceased(self) -> bool:
        return self.status == SUSPENDED and self.suspension_reason == DECEASED


def today_of(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


def assessment_date_refusal(assessed_on: date, birth_date: date, today: date) -> Refusal | None:
    """An assessment is made on a day of the elder's life, today at the latest."""
    if assessed_on > today:
        return Refusal("INVALID_ASSESSMENT_DATE", "评估日期不能晚于今天")
    if assessed_on < birth_date:
        return Refusal("INVALID_ASSESSMENT_DATE", "评估日期不能早于出生日期")
    return None


# --- registration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Registration:
    id_number: str  # normalised
    birth_date: date  # read from the ID number


def decide_registration(id_number: str, assessed_on: date, today: date) -> Registration | Refusal:
    """An application names a valid ID number (the birth date is read from it) and an assessment
    date in the applicant's life. A second application for one person is settled by the write
    (the unique ID number), not here."""
    normalised = normalise_id_number(id_number)
    if normalised is None:
        return Refusal("INVALID_ID_NUMBER", "身份证号码应为18位,出生日期有效且校验码正确")
    birth_date = birth_date_of(normalised)
    if birth_date > today:
        return Refusal("INVALID_ID_NUMBER", "身份证号码中的出生日期晚于今天")
    return assessment_date_refusal(assessed_on, birth_date, today) or Registration(normalised, birth_date)


# --- the voucher a change issues at once -----------------------------------------------------------
@dataclass(frozen=True)
class MonthVoucher:
    """This month's voucher, issued (or kept) by an approval or a restoring assessment."""

    month: Month
    valid_from: datetime | None  # None: the whole month, from its first instant


def voucher_on_entitlement(
    now: datetime, *, entitled_before: bool, first_month_min_days: int
) -> tuple[MonthVoucher | None, Month]:
    """The voucher issued when an elder becomes entitled at ``now``, and the month of the first one.

    An elder already entitled to this month before the change keeps (or gets) the whole month's
    voucher. Otherwise this month's voucher is valid from now (no subsidy for a service before
    the approval, 二(三)), unless too little of the month is left (first_voucher_month): then
    none now, and next month's comes from its first instant like every elder's."""
    month = Month.containing(now)
    if entitled_before:
        return MonthVoucher(month, None), month
    first = first_voucher_month(now, min_days=first_month_min_days)
    if first != month:
        return None, first
    return MonthVoucher(month, now), month


# --- approval ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Approval:
    voucher: MonthVoucher | None  # None: the first voucher is next month's
    first_voucher_month: Month


def decide_approval(
    elder: ElderState,
    eligibility: Eligibility,
    now: datetime,
    *,
    entitled_before: bool,
    first_month_min_days: int,
) -> Approval | Refusal:
    """The district approves an eligible elder (二(三)). Death is final. ``eligibility`` is the
    verdict as of now; ``entitled_before``: the elder held this month's voucher before (a
    suspension confirmed this month leaves it in force, 次月停发)."""
    if elder.deceased:
        return Refusal("ELDER_DECEASED")
    if elder.status == APPROVED:
        return Refusal("INVALID_STATE", "该老年人已审核通过")
    if not eligibility.eligible:
        reasons = reasons_with_titles(eligibility.reasons)
        return Refusal(
            "NOT_ELIGIBLE",
            "不符合补贴条件: " + "、".join(reason["title"] for reason in reasons),
            (("reasons", reasons),),
        )
    voucher, first = voucher_on_entitlement(
        now, entitled_before=entitled_before, first_month_min_days=first_month_min_days
    )
    return Approval(voucher, first)


# --- suspension and the death record ------------------------------------------------------------------
@dataclass(frozen=True)
class Suspension:
    reason: str
    died_on: date | None  # the death record's day; None for every other reason
    # 二(三): vouchers stop from the month after the district confirms the change.
    last_voucher_month: Month

    @property
    def revokes_current_voucher(self) -> bool:
        """A death revokes this month's voucher at once; its balance returns to the program."""
        return self.reason == DECEASED


def decide_suspension(
    elder: ElderState, reason: str, died_on: date | None, now: datetime
) -> Suspension | Refusal:
    """Stop an elder's vouchers from next month. A death is recorded on the day given (today when
    none), which must fall in the elder's life."""
    if elder.status == SUSPENDED:
        return Refusal("INVALID_STATE", "该老年人已停发")
    if reason != DECEASED:
        return Suspension(reason, None, Month.containing(now))
    today = today_of(now)
    died_on = died_on or today
    if died_on > today:
        return Refusal("INVALID_DEATH_DATE", "身故日期不能晚于今天")
    if died_on < elder.birth_date:
        return Refusal("INVALID_DEATH_DATE", "身故日期不能早于出生日期")
    return Suspension(reason, died_on, Month.containing(now))


@dataclass(frozen=True)
class DeathCorrection:
    restored_status: str  # the status the death record interrupted

    @property
    def restores_voucher(self) -> bool:
        """An approved elder gets this month's voucher back (reinstated, or issued now)."""
        return self.restored_status == APPROVED


def decide_death_correction(elder: ElderState, status_before_death: str | None) -> DeathCorrection | Refusal:
    """Undo a mistaken death record: the elder returns to the status it interrupted (pending when
    the record does not say)."""
    if not elder.deceased:
        return Refusal("NOT_DECEASED")
    return DeathCorrection(status_before_death or PENDING)


# --- an approved assessment's level ---------------------------------------------------------------------
@dataclass(frozen=True)
class AssessedLevel:
    """What an approved assessment's level changes in an elder's status."""

    suspension: Suspension | None  # an approved elder now below moderate: no vouchers from next month
    voucher: MonthVoucher | None  # an approved elder at moderate or worse: this month's voucher


def decide_assessed_level(
    elder: ElderState,
    level: DisabilityLevel,
    now: datetime,
    *,
    entitled_before: bool,
    first_month_min_days: int,
) -> AssessedLevel:
    """An approved elder assessed below moderate is suspended as a suspension confirmed now would
    be (二(三)); at moderate or worse the result restores at once a voucher an expired assessment
    had stopped. Pending and suspended elders keep their status: approval stays the district's
    own step."""
    if elder.status != APPROVED:
        return AssessedLevel(suspension=None, voucher=None)
    if level not in ELIGIBLE_LEVELS:
        suspension = Suspension(ASSESSED_BELOW_MODERATE, None, Month.containing(now))
        return AssessedLevel(suspension=suspension, voucher=None)
    voucher, _first = voucher_on_entitlement(
        now, entitled_before=entitled_before, first_month_min_days=first_month_min_days
    )
    return AssessedLevel(suspension=None, voucher=voucher)
