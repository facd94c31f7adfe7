"""Settlement rules (二(五), 一(六)): deadlines, the review transition table, the funding split,
and the decisions of a batch's life (build, rejections, review steps, payment, clawback netting,
overdue flags).

Pure: the calendar, dates, shares, amounts and the facts the service read are arguments. A
refusal is returned as a stable code (the API's error code), never raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from app.rules.calendar import WorkingCalendar, add_working_days, nth_working_day_of_month
from app.rules.ledger import Line
from app.rules.money import round_half_up
from app.rules.months import Month
from app.rules.refusals import Refusal
from app.rules.settlement_adjustments import HeldItem, Rejection, rejection_of

CIVIL_REVIEW_WORKING_DAYS = 10  # 区民政部门次月10个工作日内审核
FINANCE_REVIEW_WORKING_DAYS = 5  # 区财政部门5个工作日内复审
PAYMENT_WORKING_DAYS = 3  # 收到复审结果后3个工作日内结算


@dataclass(frozen=True)
class Transition:
    next_status: str
    role: str | None  # who may take it; None: taken by the service itself when its condition holds
    action_title: str


# (status, action) -> transition. "pay" stays in payment until the last line is paid.
TRANSITIONS: dict[tuple[str, str], Transition] = {
    ("civil_review", "submit_civil_review"): Transition("finance_review", "district_civil", "民政审核提交"),
    ("finance_review", "approve"): Transition("payment", "district_finance", "财政复审通过"),
    ("finance_review", "return"): Transition("civil_review", "district_finance", "财政复审退回"),
    ("payment", "pay"): Transition("payment", "district_civil", "支付"),
    ("payment", "settle"): Transition("settled", None, "结算完成"),  # when no line is left unpaid
}


def transition(status: str, action: str) -> Transition | None:
    return TRANSITIONS.get((status, action))


@dataclass(frozen=True)
class Deadlines:
    civil_review: date
    finance_review: date | None
    payment: date | None


def deadlines(
    month: Month,
    calendar: WorkingCalendar,
    *,
    civil_submitted_on: date | None,
    finance_approved_on: date | None,
) -> Deadlines:
    """civil review: the 10th working day of the next month; finance review: the 5th working
    day after the day civil review was submitted; payment: the 3rd after finance approved."""
    return Deadlines(
        civil_review=nth_working_day_of_month(month.next(), CIVIL_REVIEW_WORKING_DAYS, calendar),
        finance_review=(
            add_working_days(civil_submitted_on, FINANCE_REVIEW_WORKING_DAYS, calendar)
            if civil_submitted_on
            else None
        ),
        payment=(
            add_working_days(finance_approved_on, PAYMENT_WORKING_DAYS, calendar)
            if finance_approved_on
            else None
        ),
    )


def current_deadline(status: str, due: Deadlines) -> date | None:
    return {
        "civil_review": due.civil_review,
        "finance_review": due.finance_review,
        "payment": due.payment,
    }.get(status)


def is_overdue(status: str, due: Deadlines, today: date) -> bool:
    """Overdue when today is past the current stage's deadline (the deadline day itself is in time)."""
    deadline = current_deadline(status, due)
    return deadline is not None and today > deadline


@dataclass(frozen=True)
class Funding:
    central_fen: int
    city_fen: int
    district_fen: int


def split_funding(
    payable_fen: int, *, central_share: Decimal, city_share: Decimal, district_share: Decimal
) -> Funding:
    """central = round_half_up(payable x central share); city = round_half_up(the rest x its
    part of the local share) (1:1, so half); district = what remains. Sums to payable exactly."""
    central = round_half_up(Decimal(payable_fen) * central_share)
    local = payable_fen - central
    city = round_half_up(Decimal(local) * city_share / (city_share + district_share))
    return Funding(central_fen=central, city_fen=city, district_fen=local - city)


# --- decisions: facts -> a refusal, or what to write ----------------------------------------------
FIRST_STATUS = "civil_review"
CITY_ADMIN = "city_admin"  # may take every step, in every district
# How a refusal names a step taken out of turn; the other steps are named by their action code.
_OUT_OF_TURN = {"submit_civil_review": "提交民政审核", "pay": "登记支付"}


@dataclass(frozen=True)
class Stage:
    """Where a batch stands: its status, and the days each stage was done or is due."""

    status: str
    month: Month
    civil_review_due: date
    civil_submitted_on: date | None = None
    finance_review_due: date | None = None
    finance_approved_on: date | None = None
    payment_due: date | None = None
    settled_on: date | None = None

    def due(self, calendar: WorkingCalendar) -> Deadlines:
        """The stages' deadlines on ``calendar`` (which may have changed since they were stored)."""
        return deadlines(
            self.month,
            calendar,
            civil_submitted_on=self.civil_submitted_on,
            finance_approved_on=self.finance_approved_on,
        )


@dataclass(frozen=True)
class Event:
    """One row of a batch's history."""

    action: str
    from_status: str | None
    to_status: str
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a decision writes, in this order: its rejections, then the batch's stage after it and
    the history rows it leaves."""

    stage: Stage
    events: tuple[Event, ...] = ()
    rejection: Rejection = field(default_factory=Rejection)


def step_refusal(status: str, action: str, role: str) -> Refusal | None:
    """INVALID_STATE when the transition table has no such step from ``status``; FORBIDDEN
    when ``role`` may not take it."""
    step = transition(status, action)
    if step is None:
        return Refusal(
            "INVALID_STATE", f"批次状态为 {status},不能{_OUT_OF_TURN.get(action, f'执行 {action}')}"
        )
    if step.role is not None and role not in (step.role, CITY_ADMIN):
        return Refusal("FORBIDDEN", f"{step.action_title} 须由 {step.role} 执行")
    return None


def _step(stage: Stage, action: str, details: dict, **changes) -> Outcome:
    """An allowed step of the transition table: the new stage and its history row."""
    after = replace(stage, status=TRANSITIONS[(stage.status, action)].next_status, **changes)
    return Outcome(after, (Event(action, stage.status, after.status, details),))


def _settled(first: Outcome, today: date) -> Outcome:
    """``first`` followed by ``settle``: nothing is left to pay."""
    settle = _step(first.stage, "settle", {}, settled_on=today)
    return replace(first, stage=settle.stage, events=first.events + settle.events)


def decide_build(month: Month, calendar: WorkingCalendar, now: datetime) -> Refusal | Stage:
    """A district's month is settled once it has ended in Beijing; the batch starts in civil
    review. (A second batch of the month is refused by the write: one batch per district-month.)"""
    if now < month.ends_at():
        return Refusal("MONTH_NOT_ENDED", f"{month} 尚未结束,不能结算")
    due = deadlines(month, calendar, civil_submitted_on=None, finance_approved_on=None)
    return Stage(FIRST_STATUS, month, civil_review_due=due.civil_review)


# --- rejections (核减) -----------------------------------------------------------------------------
def rejections_wanted(requested: Sequence[tuple[str, UUID | None, str]]) -> Refusal | dict[UUID, str]:
    """The rejections as sent, each (the id as sent, that id parsed or None, the reason): every
    id valid and named once (the same id in another spelling is a repeat)."""
    wanted: dict[UUID, str] = {}
    for sent, redemption_id, reason in requested:
        if redemption_id is None or redemption_id in wanted:
            return Refusal("INVALID_REJECTION", f"核减记录 {sent} 无效或重复")
        wanted[redemption_id] = reason
    return wanted


def _unknown_refusal(rejection: Rejection) -> Refusal | None:
    """Every rejection must name a redemption the batch holds."""
    if not rejection.unknown:
        return None
    return Refusal("INVALID_REJECTION", f"以下核销记录不在本批次中: {', '.join(rejection.unknown[:5])}")


def _listed(wanted: Mapping[UUID, str]) -> list[dict]:
    return [{"redemption_id": str(rid), "reason": reason} for rid, reason in wanted.items()]


def decide_review_rejection(
    stage: Stage, role: str, wanted: Mapping[UUID, str], held: Mapping[UUID, HeldItem]
) -> Refusal | Outcome:
    """核减 while the batch is under civil review, before it is submitted (the dashboard's
    drill-down): the effect of rejections sent with the submission, recorded as a ``reject``
    event of its own when something new was rejected."""
    if stage.status != FIRST_STATUS:
        return Refusal("INVALID_STATE", f"批次状态为 {stage.status},只能在民政审核阶段核减")
    if role not in ("district_civil", CITY_ADMIN):
        return Refusal("FORBIDDEN", "核减须由区民政局执行")
    rejection = rejection_of(wanted, held)
    refused = _unknown_refusal(rejection)
    if refused is not None:
        return refused
    if not rejection.total_fen:
        return Outcome(stage, rejection=rejection)
    details = {"rejections": _listed(wanted), "rejected_fen": rejection.total_fen}
    return Outcome(stage, (Event("reject", stage.status, stage.status, details),), rejection)


# --- the review steps and payment -----------------------------------------------------------------
def decide_civil_submission(
    stage: Stage,
    role: str,
    requested: Sequence[tuple[str, UUID | None, str]],
    held: Mapping[UUID, HeldItem],
    *,
    today: date,
    calendar: WorkingCalendar,
) -> Refusal | Outcome:
    """The civil reviewer passes the batch to finance with its rejections (not paid, kept
    against the provider with the reason); finance review is due 5 working days after today."""
    refused = step_refusal(stage.status, "submit_civil_review", role)
    if refused is not None:
        return refused
    wanted = rejections_wanted(requested)
    if isinstance(wanted, Refusal):
        return wanted
    rejection = rejection_of(wanted, held)
    refused = _unknown_refusal(rejection)
    if refused is not None:
        return refused
    finance_review_due = replace(stage, civil_submitted_on=today).due(calendar).finance_review
    submitted = _step(
        stage,
        "submit_civil_review",
        {"rejections": _listed(wanted)},
        civil_submitted_on=today,
        finance_review_due=finance_review_due,
    )
    return replace(submitted, rejection=rejection)


def decide_finance_review(
    stage: Stage,
    role: str,
    *,
    approve: bool,
    note: str | None,
    has_lines: bool,
    today: date,
    calendar: WorkingCalendar,
) -> Refusal | Outcome:
    """Finance approves (payment due 3 working days after today) or returns the batch to civil
    review (its submission undone). A batch with nothing to pay is settled on approval."""
    action = "approve" if approve else "return"
    refused = step_refusal(stage.status, action, role)
    if refused is not None:
        return refused
    if not approve:
        return _step(stage, action, {"note": note}, civil_submitted_on=None, finance_review_due=None)
    payment_due = replace(stage, finance_approved_on=today).due(calendar).payment
    approved = _step(stage, action, {"note": note}, finance_approved_on=today, payment_due=payment_due)
    return approved if has_lines else _settled(approved, today)


@dataclass(frozen=True)
class PayableLine:
    """A provider's line in the batch, as its payment sees it."""

    provider_id: UUID
    payable_fen: int
    clawback_fen: int  # netted from this line: paid by the provider's earlier fake service
    paid: bool


@dataclass(frozen=True)
class Paid:
    """A provider's line paid: the batch's step (settled with its last line) and the journal."""

    outcome: Outcome
    provider_id: UUID
    amount_fen: int
    reference: str
    paid_on: date

    def journal_lines(self) -> list[Line]:
        """Out of the provider's payable, paid by the program; nothing for a zero payment."""
        if not self.amount_fen:
            return []
        return [
            Line("provider_payable", -self.amount_fen, provider_id=self.provider_id),
            Line("program_paid", self.amount_fen),
        ]


def decide_payment(
    stage: Stage,
    role: str,
    line: PayableLine | None,
    *,
    amount_fen: int,
    reference: str,
    others_unpaid: int,
    today: date,
) -> Refusal | Paid:
    """Pay one provider's line: exactly its payable less the clawbacks netted from it, once.
    The batch is settled with its last line (``others_unpaid``: the other lines not paid yet)."""
    refused = step_refusal(stage.status, "pay", role)
    if refused is not None:
        return refused
    if line is None:
        return Refusal("NOT_FOUND", "本批次中没有该服务机构")
    if line.paid:
        return Refusal("ALREADY_PAID")
    due_fen = line.payable_fen - line.clawback_fen
    if amount_fen != due_fen:
        detail = f"应付 {due_fen} 分"
        if line.clawback_fen:
            detail += f"(应付 {line.payable_fen} 分,抵扣追回款 {line.clawback_fen} 分)"
        return Refusal("AMOUNT_MISMATCH", f"{detail},登记 {amount_fen} 分")
    details = {"provider_id": str(line.provider_id), "amount_fen": amount_fen, "reference": reference}
    paid = _step(stage, "pay", details)
    outcome = paid if others_unpaid else _settled(paid, today)
    return Paid(outcome, line.provider_id, amount_fen, reference, paid_on=today)


# --- overdue ------------------------------------------------------------------------
def overdue_flag(status: str, due: Deadlines, today: date, flagged_stage: str | None) -> Event | None:
    """The ``flag_overdue`` row when the current stage is past its deadline: once per stage
    (``flagged_stage``: the stage flagged last)."""
    if not is_overdue(status, due, today) or flagged_stage == status:
        return None
    return Event("flag_overdue", status, status, {"stage": status, "due": str(current_deadline(status, due))})
