"""Table tests for the decisions of a settlement batch's life (app.rules.settlement and
app.rules.settlement_adjustments): build, the review steps, rejections (核减), payment, clawback
netting and overdue flags. No database: the facts are arguments, refusals are codes.

The January 2026 batch (CONTRACT.md "Settlement"): civil review due 2-13; submitted 2-5, finance
due 2-12; approved 2-6, payment due 2-11."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime

import pytest

from app.rules.calendar import WorkingCalendar
from app.rules.ledger import Line, check_balanced
from app.rules.months import BEIJING, Month
from app.rules.refusals import Refusal
from app.rules.settlement import (
    Deadlines,
    Event,
    Outcome,
    PayableLine,
    Stage,
    decide_build,
    decide_civil_submission,
    decide_finance_review,
    decide_payment,
    decide_review_rejection,
    overdue_flag,
    rejections_wanted,
    step_refusal,
)
from app.rules.settlement_adjustments import (
    HeldItem,
    OpenLine,
    Rejection,
    clawbacks_netted,
    exclusion_reasons,
    rejection_of,
)

CALENDAR = WorkingCalendar.china(range(2025, 2028))
D = date.fromisoformat
JANUARY = Month(2026, 1)
CIVIL = Stage("civil_review", JANUARY, civil_review_due=D("2026-02-13"))
FINANCE = replace(
    CIVIL, status="finance_review", civil_submitted_on=D("2026-02-05"), finance_review_due=D("2026-02-12")
)
PAYMENT = replace(FINANCE, status="payment", finance_approved_on=D("2026-02-06"), payment_due=D("2026-02-11"))
SETTLED = replace(PAYMENT, status="settled", settled_on=D("2026-02-10"))
STAGES = {stage.status: stage for stage in (CIVIL, FINANCE, PAYMENT, SETTLED)}

A, B, C = (uuid.UUID(int=n, version=4) for n in (1, 2, 3))
R1, R2, R3, R4 = (uuid.UUID(int=100 + n, version=4) for n in (1, 2, 3, 4))
HELD = {
    R1: HeldItem(A, 15000, rejected=False),
    R2: HeldItem(B, 40000, rejected=False),
    R3: HeldItem(B, 4938, rejected=False),
    R4: HeldItem(C, 501, rejected=True),  # rejected before
}


def code(decision) -> str | None:
    return decision.code if isinstance(decision, Refusal) else None


# --- build -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "refused"),
    [
        (datetime(2026, 1, 31, 23, 59, 59, tzinfo=BEIJING), "MONTH_NOT_ENDED"),
        (datetime(2026, 1, 15, tzinfo=BEIJING), "MONTH_NOT_ENDED"),
        (datetime(2026, 2, 1, tzinfo=BEIJING), None),  # 00:00 on 2-1 in Beijing
        (datetime(2026, 3, 20, tzinfo=BEIJING), None),  # late: still built, already overdue
    ],
)
def test_a_month_is_built_once_it_has_ended_in_beijing(now: datetime, refused: str | None) -> None:
    decision = decide_build(JANUARY, CALENDAR, now)
    assert code(decision) == refused
    if refused:
        assert decision.detail == "2026-01 尚未结束,不能结算"
    else:
        assert decision == CIVIL


# --- turns and roles ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "action", "role", "refused", "detail"),
    [
        ("civil_review", "submit_civil_review", "district_civil", None, None),
        ("civil_review", "submit_civil_review", "city_admin", None, None),
        (
            "civil_review",
            "submit_civil_review",
            "district_finance",
            "FORBIDDEN",
            "民政审核提交 须由 district_civil 执行",
        ),
        ("finance_review", "approve", "district_finance", None, None),
        ("finance_review", "return", "city_admin", None, None),
        (
            "finance_review",
            "approve",
            "district_civil",
            "FORBIDDEN",
            "财政复审通过 须由 district_finance 执行",
        ),
        ("payment", "pay", "district_civil", None, None),
        ("payment", "pay", "auditor", "FORBIDDEN", "支付 须由 district_civil 执行"),
        (
            "finance_review",
            "submit_civil_review",
            "district_civil",
            "INVALID_STATE",
            "批次状态为 finance_review,不能提交民政审核",
        ),
        ("civil_review", "pay", "district_civil", "INVALID_STATE", "批次状态为 civil_review,不能登记支付"),
        (
            "civil_review",
            "approve",
            "district_finance",
            "INVALID_STATE",
            "批次状态为 civil_review,不能执行 approve",
        ),
        ("payment", "return", "district_finance", "INVALID_STATE", "批次状态为 payment,不能执行 return"),
        ("settled", "pay", "district_civil", "INVALID_STATE", "批次状态为 settled,不能登记支付"),
        # Out of turn is reported before the wrong role.
        ("settled", "approve", "district_civil", "INVALID_STATE", "批次状态为 settled,不能执行 approve"),
    ],
)
def test_step_refusal(status: str, action: str, role: str, refused: str | None, detail: str | None) -> None:
    assert step_refusal(status, action, role) == (Refusal(refused, detail) if refused else None)


# --- rejections ----------------------------------------------------------------------------------------
def test_rejection_of_counts_only_what_is_new_per_provider() -> None:
    rejection = rejection_of({R1: "缺凭证", R2: "重复收费", R3: "重复收费", R4: "again"}, HELD)
    assert rejection.reasons == {R1: "缺凭证", R2: "重复收费", R3: "重复收费"}  # R4 keeps its first reason
    assert rejection.by_provider == {A: 15000, B: 44938}
    assert rejection.total_fen == 59938
    assert rejection.unknown == []
    assert rejection.journal_lines() == [
        Line("provider_payable", -15000, provider_id=A),
        Line("provider_payable", -44938, provider_id=B),
        Line("program_rejected", 59938),
    ]
    check_balanced(rejection.journal_lines())


def test_rejection_of_names_what_the_batch_does_not_hold() -> None:
    stranger = uuid.UUID(int=999, version=4)
    rejection = rejection_of({R1: "x", stranger: "y"}, HELD)
    assert rejection.unknown == [str(stranger)]
    assert rejection.reasons == {R1: "x"}


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ([], {}),
        ([("r1", R1, "a"), ("r2", R2, "b")], {R1: "a", R2: "b"}),
        ([("not-a-uuid", None, "x")], Refusal("INVALID_REJECTION", "核减记录 not-a-uuid 无效或重复")),
        ([("r1", R1, "a"), ("R1", R1, "b")], Refusal("INVALID_REJECTION", "核减记录 R1 无效或重复")),
    ],
    ids=["none", "two", "invalid", "repeated-in-another-spelling"],
)
def test_rejections_wanted(requested: list, expected) -> None:
    assert rejections_wanted(requested) == expected


def test_an_audit_exclusion_names_its_finding() -> None:
    assert exclusion_reasons({R1: 7}) == {R1: "抽查认定虚假服务(抽查结论 7)"}


@pytest.mark.parametrize(
    ("stage", "role", "wanted", "refused"),
    [
        (FINANCE, "district_civil", {R1: "x"}, "INVALID_STATE"),
        (PAYMENT, "city_admin", {R1: "x"}, "INVALID_STATE"),
        (CIVIL, "district_finance", {R1: "x"}, "FORBIDDEN"),
        (CIVIL, "auditor", {}, "FORBIDDEN"),
        (CIVIL, "district_civil", {R1: "x", uuid.UUID(int=999, version=4): "y"}, "INVALID_REJECTION"),
    ],
)
def test_review_rejection_refusals(stage: Stage, role: str, wanted: dict, refused: str) -> None:
    assert code(decide_review_rejection(stage, role, wanted, HELD)) == refused


def test_a_review_rejection_is_its_own_event_when_something_new_is_rejected() -> None:
    decision = decide_review_rejection(CIVIL, "city_admin", {R2: "缺少入住协议", R4: "again"}, HELD)
    assert decision.stage == CIVIL
    assert decision.rejection.reasons == {R2: "缺少入住协议"}
    assert decision.events == (
        Event(
            "reject",
            "civil_review",
            "civil_review",
            {
                "rejections": [
                    {"redemption_id": str(R2), "reason": "缺少入住协议"},
                    {"redemption_id": str(R4), "reason": "again"},
                ],
                "rejected_fen": 40000,
            },
        ),
    )
    nothing_new = decide_review_rejection(CIVIL, "district_civil", {R4: "again"}, HELD)
    assert nothing_new == Outcome(CIVIL, (), Rejection({}, {}, []))


# --- civil review ---------------------------------------------------------------------------------------
def submit(stage: Stage = CIVIL, role: str = "district_civil", requested=(), today: str = "2026-02-05"):
    return decide_civil_submission(stage, role, list(requested), HELD, today=D(today), calendar=CALENDAR)


@pytest.mark.parametrize(
    ("stage", "role", "requested", "refused"),
    [
        (FINANCE, "district_civil", [], "INVALID_STATE"),
        (FINANCE, "district_civil", [("x", None, "x")], "INVALID_STATE"),  # the turn first
        (CIVIL, "district_finance", [], "FORBIDDEN"),
        (CIVIL, "district_civil", [("x", None, "x")], "INVALID_REJECTION"),
        (CIVIL, "district_civil", [("r1", R1, "a"), ("r1", R1, "b")], "INVALID_REJECTION"),
        (CIVIL, "district_civil", [("u", uuid.UUID(int=999, version=4), "x")], "INVALID_REJECTION"),
    ],
)
def test_civil_submission_refusals(stage: Stage, role: str, requested: list, refused: str) -> None:
    assert code(submit(stage, role, requested)) == refused


@pytest.mark.parametrize(
    ("today", "finance_review_due"),
    [
        ("2026-02-05", "2026-02-12"),  # early: 2-6, 9, 10, 11, 12
        ("2026-02-13", "2026-02-27"),  # on its due day: 2-14 (make-up), [holiday], 24-27
        ("2026-02-24", "2026-03-02"),  # late: 25, 26, 27, 28 (make-up), 3-2
    ],
)
def test_civil_submission_passes_to_finance(today: str, finance_review_due: str) -> None:
    decision = submit(requested=[("r1", R1, "缺凭证")], today=today)
    assert decision.stage == replace(
        CIVIL, status="finance_review", civil_submitted_on=D(today), finance_review_due=D(finance_review_due)
    )
    assert decision.rejection.by_provider == {A: 15000}
    details = {"rejections": [{"redemption_id": str(R1), "reason": "缺凭证"}]}
    assert decision.events == (Event("submit_civil_review", "civil_review", "finance_review", details),)


# --- finance review ----------------------------------------------------------------------------------------
def review(stage: Stage = FINANCE, role: str = "district_finance", *, approve: bool, has_lines: bool = True):
    return decide_finance_review(
        stage,
        role,
        approve=approve,
        note="意见",
        has_lines=has_lines,
        today=D("2026-02-06"),
        calendar=CALENDAR,
    )


@pytest.mark.parametrize(
    ("stage", "role", "approve", "refused"),
    [
        (CIVIL, "district_finance", True, "INVALID_STATE"),
        (CIVIL, "district_finance", False, "INVALID_STATE"),
        (PAYMENT, "district_finance", True, "INVALID_STATE"),
        (FINANCE, "district_civil", True, "FORBIDDEN"),
        (FINANCE, "auditor", False, "FORBIDDEN"),
    ],
)
def test_finance_review_refusals(stage: Stage, role: str, approve: bool, refused: str) -> None:
    assert code(review(stage, role, approve=approve)) == refused


def test_approval_sets_the_payment_deadline() -> None:
    decision = review(approve=True)
    assert decision.stage == PAYMENT
    assert decision.events == (Event("approve", "finance_review", "payment", {"note": "意见"}),)
    assert decision.rejection.reasons == {}


def test_an_empty_batch_is_settled_on_approval() -> None:
    decision = review(role="city_admin", approve=True, has_lines=False)
    assert decision.stage == replace(PAYMENT, status="settled", settled_on=D("2026-02-06"))
    assert [(e.action, e.from_status, e.to_status, e.details) for e in decision.events] == [
        ("approve", "finance_review", "payment", {"note": "意见"}),
        ("settle", "payment", "settled", {}),
    ]


def test_return_undoes_the_submission() -> None:
    decision = review(approve=False)
    assert decision.stage == CIVIL
    assert decision.events == (Event("return", "finance_review", "civil_review", {"note": "意见"}),)


# --- payment ---------------------------------------------------------------------------------------------
LINE_A = PayableLine(A, payable_fen=15000, clawback_fen=0, paid=False)
CLAWED = PayableLine(B, payable_fen=4938, clawback_fen=1000, paid=False)


def pay(stage=PAYMENT, role="district_civil", line=LINE_A, amount=15000, others_unpaid=1):
    return decide_payment(
        stage,
        role,
        line,
        amount_fen=amount,
        reference="BJ-1",
        others_unpaid=others_unpaid,
        today=D("2026-02-10"),
    )


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        ({"stage": CIVIL}, Refusal("INVALID_STATE", "批次状态为 civil_review,不能登记支付")),
        ({"stage": SETTLED}, Refusal("INVALID_STATE", "批次状态为 settled,不能登记支付")),
        ({"role": "district_finance"}, Refusal("FORBIDDEN", "支付 须由 district_civil 执行")),
        ({"line": None}, Refusal("NOT_FOUND", "本批次中没有该服务机构")),
        ({"line": replace(LINE_A, paid=True)}, Refusal("ALREADY_PAID")),
        ({"amount": 14999}, Refusal("AMOUNT_MISMATCH", "应付 15000 分,登记 14999 分")),
        ({"amount": 15001}, Refusal("AMOUNT_MISMATCH", "应付 15000 分,登记 15001 分")),
        (
            {"line": CLAWED, "amount": 4938},
            Refusal("AMOUNT_MISMATCH", "应付 3938 分(应付 4938 分,抵扣追回款 1000 分),登记 4938 分"),
        ),
    ],
)
def test_payment_refusals(arguments: dict, refusal: Refusal) -> None:
    assert pay(**arguments) == refusal


def test_a_payment_with_lines_left_keeps_the_batch_in_payment() -> None:
    decision = pay()
    assert decision.outcome.stage == PAYMENT
    assert decision.outcome.events == (
        Event("pay", "payment", "payment", {"provider_id": str(A), "amount_fen": 15000, "reference": "BJ-1"}),
    )
    assert (decision.provider_id, decision.reference, decision.paid_on) == (A, "BJ-1", D("2026-02-10"))
    assert decision.journal_lines() == [
        Line("provider_payable", -15000, provider_id=A),
        Line("program_paid", 15000),
    ]


def test_the_last_payment_settles_the_batch() -> None:
    decision = pay(line=CLAWED, amount=3938, others_unpaid=0)
    assert decision.outcome.stage == replace(PAYMENT, status="settled", settled_on=D("2026-02-10"))
    assert [e.action for e in decision.outcome.events] == ["pay", "settle"]


def test_a_zero_payment_moves_no_money() -> None:
    decision = pay(line=PayableLine(C, 0, 0, paid=False), amount=0)
    assert decision.journal_lines() == []


# --- clawbacks ---------------------------------------------------------------------------------------------
JAN, FEB = uuid.UUID(int=201, version=4), uuid.UUID(int=202, version=4)


@pytest.mark.parametrize(
    ("booked", "netted_before", "open_lines", "expected"),
    [
        ({}, {}, [OpenLine(JAN, A, 100)], {(JAN, A): 0}),
        ({A: 80}, {}, [OpenLine(JAN, A, 100)], {(JAN, A): 80}),
        # Never more than a line's payable; the rest goes to the next month's line.
        ({A: 150}, {}, [OpenLine(JAN, A, 100), OpenLine(FEB, A, 100)], {(JAN, A): 100, (FEB, A): 50}),
        # What batches past civil review netted already is not netted again.
        ({A: 150}, {A: 120}, [OpenLine(JAN, A, 100)], {(JAN, A): 30}),
        ({A: 150}, {A: 150}, [OpenLine(JAN, A, 100)], {(JAN, A): 0}),
        # Each provider's own clawbacks only.
        ({A: 50}, {}, [OpenLine(JAN, B, 100), OpenLine(JAN, A, 10)], {(JAN, B): 0, (JAN, A): 10}),
        ({A: 50}, {}, [OpenLine(JAN, A, 0)], {(JAN, A): 0}),  # a fully rejected line
    ],
)
def test_clawbacks_netted(booked: dict, netted_before: dict, open_lines: list, expected: dict) -> None:
    assert clawbacks_netted(booked, netted_before, open_lines) == expected


# --- overdue ----------------------------------------------------------------------------------------------
JANUARY_DUE = Deadlines(D("2026-02-13"), D("2026-02-27"), D("2026-03-03"))


@pytest.mark.parametrize(
    ("status", "today", "flagged_stage", "flag"),
    [
        ("civil_review", "2026-02-13", None, None),  # the deadline day itself is in time
        (
            "civil_review",
            "2026-02-14",
            None,
            Event(
                "flag_overdue", "civil_review", "civil_review", {"stage": "civil_review", "due": "2026-02-13"}
            ),
        ),
        ("civil_review", "2026-02-15", "civil_review", None),  # once per stage
        (
            "finance_review",
            "2026-02-28",
            "civil_review",
            Event(
                "flag_overdue",
                "finance_review",
                "finance_review",
                {"stage": "finance_review", "due": "2026-02-27"},
            ),
        ),
        ("payment", "2026-03-03", "finance_review", None),
        ("settled", "2030-01-01", None, None),
    ],
)
def test_overdue_flag(status: str, today: str, flagged_stage: str | None, flag: Event | None) -> None:
    assert overdue_flag(status, JANUARY_DUE, D(today), flagged_stage) == flag
