"""Point-of-service redemption rules (一(五), 一(八)2/4/5, 附件1).

Pure: amounts, rates, balances, kinds and enrolments are arguments. A refusal is returned as a
stable code (the API's error code), never raised, so the rules read as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from app.rules.anomalies import Finding, Thresholds, inline_findings
from app.rules.entitlement import REFUSAL_TITLES as ENTITLEMENT_TITLES
from app.rules.entitlement import EntitlementFacts, entitlement_refusal, service_in_window
from app.rules.money import round_half_up
from app.rules.months import BEIJING, Month
from app.rules.policy import Category
from app.rules.refusals import Refusal

# The largest single redemption we accept at all: far above any catalogue price or monthly
# institutional fee, low enough to catch a POS that sends yuan*10000 or garbage.
MAX_AMOUNT_FEN = 10_000_000  # 100,000 yuan

# Which categories each provider kind may provide (一(四), 附件2). Institutions and regional
# centers run beds and also serve at home; stations, partners and home-care companies serve
# at home and in the community; an assessment agency provides no subsidised care (一(四)).
KIND_CATEGORIES: dict[str, frozenset[Category]] = {
    "institution": frozenset({Category.INSTITUTION, Category.HOME_COMMUNITY}),
    "regional_center": frozenset({Category.INSTITUTION, Category.HOME_COMMUNITY}),
    "partner": frozenset({Category.HOME_COMMUNITY}),
    "station": frozenset({Category.HOME_COMMUNITY}),
    "home_care_company": frozenset({Category.HOME_COMMUNITY}),
    "assessment_agency": frozenset({Category.ASSESSMENT}),
}

# 一(八)4: the four basic services a station provides with government money, mapped to the
# catalogue items they correspond to. 巡视探访 -> 45 上门探访; 个人清洁 -> 13-20 (hand, foot,
# head/face, mouth, hair washing, haircut, toileting and perineal cleaning); 呼叫服务 -> 28 助急
# (紧急呼叫). 养老顾问 (advice) has no catalogue item. See docs/decisions.md.
STATION_BASIC_SERVICE_ITEMS = frozenset({13, 14, 15, 16, 17, 18, 19, 20, 28, 45})

ENROLMENT_KINDS = ("station_basic_services", "family_care_bed")


@dataclass(frozen=True)
class Enrolment:
    """An elder enrolled in a government-funded programme run by one provider."""

    kind: str
    provider_id: str
    starts_on: date
    ends_on: date | None

    def active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class Deduction:
    eligible_fen: int
    deduction_fen: int
    self_pay_fen: int


def amount_refusal(amount_fen: int, ltci_paid_fen: int) -> str | None:
    """INVALID_AMOUNT when the amounts cannot describe a subsidisable purchase."""
    if amount_fen <= 0 or amount_fen > MAX_AMOUNT_FEN:
        return "INVALID_AMOUNT"
    if ltci_paid_fen < 0 or ltci_paid_fen >= amount_fen:
        # LTCI pays first (一(八)2); nothing left for the voucher means nothing to redeem.
        return "INVALID_AMOUNT"
    return None


def compute_deduction(*, amount_fen: int, ltci_paid_fen: int, rate: Decimal, balance_fen: int) -> Deduction:
    """eligible = amount - LTCI; deduction = min(round_half_up(eligible x rate), balance)."""
    eligible = amount_fen - ltci_paid_fen
    deduction = min(round_half_up(Decimal(eligible) * rate), balance_fen)
    return Deduction(
        eligible_fen=eligible,
        deduction_fen=deduction,
        self_pay_fen=eligible - deduction,
    )


def item_refusal(
    *,
    provider_kind: str,
    provider_id: str,
    item: int,
    category: Category,
    enrolments: list[Enrolment],
    service_day: date,
    organisation_is_agency: bool = False,
) -> str | None:
    """Whether this provider may redeem this item for this elder (item 1, the assessment, only
    from the assessment voucher: see ``voucher_kind_for``).

    ``organisation_is_agency``: the provider's organisation (credit code) is registered as an
    assessment agency in some district. 一(四) forbids it subsidised care anywhere in the city,
    whatever kind this registration claims."""
    if category not in KIND_CATEGORIES.get(provider_kind, frozenset()):
        return "ITEM_NOT_ALLOWED"
    if organisation_is_agency and category is not Category.ASSESSMENT:
        return "ITEM_NOT_ALLOWED"
    for enrolment in enrolments:
        if enrolment.provider_id != provider_id or not enrolment.active_on(service_day):
            continue
        if enrolment.kind == "family_care_bed":
            return "NOT_REDEEMABLE"  # 一(八)5: the bed operator's services to its bed elder
        if enrolment.kind == "station_basic_services" and item in STATION_BASIC_SERVICE_ITEMS:
            return "NOT_REDEEMABLE"  # 一(八)4
    return None


# The assessment voucher pays the whole assessment service fee (attachment 5: 评估服务费可通过
# 能力评估电子消费券予以抵扣), up to its face value; the monthly rates do not apply to it.
ASSESSMENT_RATE = Decimal(1)


def voucher_kind_for(category: Category) -> str:
    """Which voucher pays for a category: the assessment voucher for item 1, else the monthly."""
    return "assessment" if category is Category.ASSESSMENT else "monthly"


def price_warnings(amount_fen: int, ref_price_max_fen: int | None) -> list[str]:
    """A price above the catalogue's reference maximum is accepted but flagged (先涨价后抵扣)."""
    if ref_price_max_fen is not None and amount_fen > ref_price_max_fen:
        return ["PRICE_ABOVE_REFERENCE"]
    return []


# --- the decision: facts -> refusal or deduction ----------------------------------------------------
# Everything POST /redemptions checks, in the order the API reports it (the first failing check is
# the answer). The service loads the facts in one read and applies an Accepted in one write.
@dataclass(frozen=True)
class ProviderFacts:
    id: str
    kind: str
    status: str
    # The organisation (credit code) is registered as an assessment agency somewhere (一(四)).
    agency_organisation: bool


@dataclass(frozen=True)
class ElderFacts:
    id: str
    district_code: str
    entitlement: EntitlementFacts
    died_on: date | None
    # The latest status change when the elder is suspended: (id, when, reason), for the in-line
    # REDEEMED_AFTER_SUSPENSION warning.
    suspension: tuple[int, datetime, str] | None = None


@dataclass(frozen=True)
class VoucherFacts:
    """The voucher that would pay: the elder's voucher of the right kind for the current month
    (whatever its status), or, for a monthly voucher the month-start job has not issued yet, the
    one it would issue (``id`` None: issued by this redemption's write)."""

    id: str | None
    month: date
    status: str
    balance_fen: int
    face_value_fen: int
    valid_from: datetime
    valid_until: datetime
    # Assessment vouchers only: the agency that made the assessment it pays for, and its day.
    assessment_agency_id: str | None = None
    assessed_on: date | None = None


@dataclass(frozen=True)
class RedemptionFacts:
    provider: ProviderFacts | None  # None: unknown (or its key no longer valid)
    elder: ElderFacts | None
    category: Category | None  # of the item; None: not in the catalogue
    ref_price_max_fen: int | None
    enrolments: tuple[Enrolment, ...]
    voucher: VoucherFacts | None
    rate: Decimal | None  # the category's rate in force for the voucher's month
    valid_months: int  # assessment validity
    thresholds: Thresholds


@dataclass(frozen=True)
class RedemptionRequest:
    item: int
    amount_fen: int
    ltci_paid_fen: int
    served_at: datetime
    id_checked: bool


@dataclass(frozen=True)
class Accepted:
    voucher: VoucherFacts
    category: Category
    rate: Decimal
    deduction: Deduction
    new_balance_fen: int
    warnings: tuple[str, ...]
    findings: tuple[Finding, ...]

    @property
    def issues_voucher(self) -> bool:
        return self.voucher.id is None


def decide(facts: RedemptionFacts, request: RedemptionRequest, now: datetime) -> Refusal | Accepted:
    """Whether a point-of-service redemption is paid, and how much (一(五), 一(八), 二(三), 附件1)."""
    if facts.provider is None or facts.provider.status != "listed":
        return Refusal("PROVIDER_NOT_LISTED", "服务机构当前不在名单内,不能核销")
    if facts.elder is None:
        return Refusal("ELDER_NOT_FOUND")
    if not request.id_checked:
        return Refusal("ID_NOT_CHECKED")
    if amount_refusal(request.amount_fen, request.ltci_paid_fen):
        return Refusal("INVALID_AMOUNT", "消费金额须为正整数(分),长护险支付金额须小于消费金额")
    if facts.category is None:
        return Refusal("UNKNOWN_ITEM", f"补贴项目清单中没有第 {request.item} 项")
    refusal = item_refusal(
        provider_kind=facts.provider.kind,
        provider_id=facts.provider.id,
        item=request.item,
        category=facts.category,
        enrolments=list(facts.enrolments),
        service_day=request.served_at.astimezone(BEIJING).date(),
        organisation_is_agency=facts.provider.agency_organisation,
    )
    if refusal:
        return Refusal(refusal)
    if voucher_kind_for(facts.category) == "assessment":
        refused = _assessment_voucher_refusal(facts, request, now)
        rate = ASSESSMENT_RATE
    else:
        refused = _monthly_voucher_refusal(facts, request, now)
        rate = facts.rate
    if refused is not None:
        return refused
    voucher = facts.voucher
    if voucher.balance_fen == 0:
        return Refusal("VOUCHER_EXHAUSTED")
    deduction = compute_deduction(
        amount_fen=request.amount_fen,
        ltci_paid_fen=request.ltci_paid_fen,
        rate=rate,
        balance_fen=voucher.balance_fen,
    )
    if deduction.deduction_fen == 0:
        return Refusal("INVALID_AMOUNT", "可抵扣金额不足1分")
    return Accepted(
        voucher=voucher,
        category=facts.category,
        rate=rate,
        deduction=deduction,
        new_balance_fen=voucher.balance_fen - deduction.deduction_fen,
        warnings=tuple(price_warnings(request.amount_fen, facts.ref_price_max_fen)),
        findings=tuple(_inline_findings(facts, request)),
    )


def _usable(voucher: VoucherFacts | None, now: datetime) -> bool:
    return (
        voucher is not None and voucher.status == "active" and voucher.valid_from <= now < voucher.valid_until
    )


def _monthly_voucher_refusal(
    facts: RedemptionFacts, request: RedemptionRequest, now: datetime
) -> Refusal | None:
    entitlement = entitlement_refusal(
        facts.elder.entitlement, Month.containing(now), valid_months=facts.valid_months
    )
    if entitlement is not None:
        return Refusal(
            "ELDER_NOT_ELIGIBLE",
            f"该老年人本月不享受补贴:{ENTITLEMENT_TITLES[entitlement]}",
            (("reason", entitlement),),
        )
    if not _usable(facts.voucher, now):
        return Refusal("NO_ACTIVE_VOUCHER", "该老年人当前没有有效的电子消费券(未发放、已过期或已作废)")
    voucher = facts.voucher
    if not service_in_window(
        request.served_at, valid_from=voucher.valid_from, valid_until=voucher.valid_until, now=now
    ):
        return Refusal(
            "SERVED_AT_OUT_OF_RANGE",
            "服务时间须在消费券有效期内(当月,且不早于审核通过时间)并且不晚于当前时间",
        )
    return None


def _assessment_voucher_refusal(
    facts: RedemptionFacts, request: RedemptionRequest, now: datetime
) -> Refusal | None:
    """The assessment voucher: usable only by the agency that made the assessment it pays for, for
    an assessment made on or after that assessment's day (it precedes the voucher)."""
    voucher = facts.voucher
    if not _usable(voucher, now):
        return Refusal("NO_ACTIVE_VOUCHER", "该老年人当前没有有效的能力评估电子消费券")
    if voucher.assessment_agency_id != facts.provider.id:
        return Refusal("ITEM_NOT_ALLOWED", "能力评估电子消费券只能由作出该评估的评估机构核销")
    assessed_from = datetime.combine(voucher.assessed_on, time.min, tzinfo=BEIJING)
    if not (assessed_from <= request.served_at <= now):
        return Refusal("SERVED_AT_OUT_OF_RANGE", "评估服务时间应在评估当日至今之间")
    return None


def _inline_findings(facts: RedemptionFacts, request: RedemptionRequest) -> list[Finding]:
    suspension = facts.elder.suspension
    return inline_findings(
        amount_fen=request.amount_fen,
        ref_price_max_fen=facts.ref_price_max_fen,
        category=facts.category.value,
        item=request.item,
        served_at=request.served_at,
        thresholds=facts.thresholds,
        suspended_at=suspension[1] if suspension else None,
        suspension_reason=suspension[2] if suspension else None,
        status_change_id=suspension[0] if suspension else None,
        died_on=facts.elder.died_on,
    )


# --- reversal ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReversalFacts:
    redemption_status: str  # posted | reversed
    in_settlement: bool  # a settlement batch holds it
    deduction_fen: int
    voucher_status: str
    voucher_valid_until: datetime
    balance_fen: int
    face_value_fen: int


@dataclass(frozen=True)
class Reversed:
    new_balance_fen: int


def decide_reversal(facts: ReversalFacts, now: datetime) -> Refusal | Reversed:
    """Undo a redemption within its month, once, before its settlement started (CONTRACT.md)."""
    if facts.redemption_status == "reversed":
        return Refusal("ALREADY_REVERSED")
    if facts.in_settlement:
        return Refusal("IN_SETTLEMENT")
    if now >= facts.voucher_valid_until:
        return Refusal("MONTH_CLOSED", "消费券所属月份已结束,不能撤销")
    if facts.voucher_status != "active":
        return Refusal("VOUCHER_CLOSED")
    new_balance = facts.balance_fen + facts.deduction_fen
    if new_balance > facts.face_value_fen:  # the journal would not explain it: never write it
        raise ValueError("a reversal would raise the voucher above its face value")
    return Reversed(new_balance)


# --- POS lookup ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LookupAnswer:
    refusal: str | None  # why the elder holds no voucher this month (an entitlement code)
    voucher: VoucherFacts | None  # the voucher valid now, shown to the terminal
    issue: bool  # that voucher is the month's, to be issued now (the job has not run)


def answer_lookup(
    entitlement: EntitlementFacts, voucher: VoucherFacts | None, now: datetime, *, valid_months: int
) -> LookupAnswer:
    """What a POS lookup shows (``voucher``: the elder's monthly voucher of the current month, or
    the one the month-start job would issue, ``id`` None)."""
    refusal = entitlement_refusal(entitlement, Month.containing(now), valid_months=valid_months)
    if refusal is not None or not _usable(voucher, now):
        return LookupAnswer(refusal, None, False)
    return LookupAnswer(None, voucher, voucher.id is None)
