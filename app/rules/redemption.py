"""Point-of-service redemption rules (一(五), 一(八)2/4/5, 附件1).

Pure: amounts, rates, balances, kinds and enrolments are arguments. A refusal is returned as a
stable code (the API's error code), never raised, so the rules read as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.rules.money import round_half_up
from app.rules.policy import Category

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
