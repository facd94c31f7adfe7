"""Who may receive the monthly voucher (京民发〔2026〕6号 一(一), 一(八), 二(二)).

Pure: every fact, date and threshold is an argument. Each failed rule yields a reason with a
stable code, so a district officer sees every reason at once, not only the first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from app.rules.months import Month


class DisabilityLevel(StrEnum):
    """GB/T 42195-2022 ability levels, mildest first."""

    INTACT = "intact"  # 能力完好
    MILD = "mild"  # 轻度失能
    MODERATE = "moderate"  # 中度失能
    SEVERE = "severe"  # 重度失能
    COMPLETE = "complete"  # 完全失能


ELIGIBLE_LEVELS = frozenset({DisabilityLevel.MODERATE, DisabilityLevel.SEVERE, DisabilityLevel.COMPLETE})
LEVEL_TITLES = {
    DisabilityLevel.INTACT: "能力完好",
    DisabilityLevel.MILD: "轻度失能",
    DisabilityLevel.MODERATE: "中度失能",
    DisabilityLevel.SEVERE: "重度失能",
    DisabilityLevel.COMPLETE: "完全失能",
}
# The elder's registry status (app.models.elders.ELDER_STATUSES) as district staff read it.
ELDER_STATUS_TITLES = {"pending": "待审核", "approved": "已审核通过", "suspended": "已停发"}


class Residency(StrEnum):
    BEIJING_HUKOU = "beijing_hukou"  # 本市户籍
    RESIDENCE_PERMIT = "residence_permit"  # 外埠, 持本市居住证(居住登记卡)
    INSTITUTION_RESIDENT = "institution_resident"  # 外埠, 已入住本市养老机构 (no permit needed)


# 一(一): all three are eligible; the enum exists so that anything else is refused at the edge.
ELIGIBLE_RESIDENCIES = frozenset(Residency)


class Benefit(StrEnum):
    DESTITUTE_SUPPORT = "destitute_support"  # 特困人员供养
    HARDSHIP_INSTITUTION_SUBSIDY = "hardship_institution_subsidy"  # 困境家庭服务对象入住养老机构补助
    BASIC_SERVICE_UPGRADE = "basic_service_upgrade"  # 居家和社区基本养老服务提升行动
    DISABILITY_CARE_ALLOWANCE = "disability_care_allowance"  # 失能老年人护理补贴 (2019 rules)
    LTCI = "ltci"  # 长期护理保险: stays eligible, the voucher applies after the insurance


# 一(八)1 and 一(八)3: receiving any of these excludes the elder while it is received.
EXCLUDING_BENEFITS = {
    Benefit.DESTITUTE_SUPPORT: "RECEIVES_DESTITUTE_SUPPORT",
    Benefit.HARDSHIP_INSTITUTION_SUBSIDY: "RECEIVES_HARDSHIP_INSTITUTION_SUBSIDY",
    Benefit.BASIC_SERVICE_UPGRADE: "RECEIVES_BASIC_SERVICE_UPGRADE",
    Benefit.DISABILITY_CARE_ALLOWANCE: "RECEIVES_DISABILITY_CARE_ALLOWANCE",
}

REASON_TITLES = {
    "LEVEL_BELOW_MODERATE": "能力评估等级低于中度失能",
    "UNDER_MINIMUM_AGE": "未达到老年人年龄",
    "ASSESSMENT_EXPIRED": "能力评估结论已超过有效期",
    "ASSESSMENT_IN_FUTURE": "评估日期晚于当前日期",
    "RECEIVES_DESTITUTE_SUPPORT": "正在享受特困人员供养救助待遇",
    "RECEIVES_HARDSHIP_INSTITUTION_SUBSIDY": "正在享受困境家庭服务对象入住养老机构补助",
    "RECEIVES_BASIC_SERVICE_UPGRADE": "正在享受居家和社区基本养老服务提升行动项目服务",
    "RECEIVES_DISABILITY_CARE_ALLOWANCE": "正在享受失能老年人护理补贴(可自愿退出后申领)",
}


@dataclass(frozen=True)
class EligibilityFacts:
    disability_level: DisabilityLevel
    residency: Residency
    benefits: frozenset[Benefit]
    birth_date: date
    assessed_on: date
    # The 失能老年人护理补贴 tier (yuan/month, 京民养老发〔2019〕160号 二(二)) held when applying.
    disability_allowance_tier: int | None = None


@dataclass(frozen=True)
class EligibilityRules:
    minimum_age_years: int
    assessment_valid_months: int


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: tuple[str, ...]


def reasons_with_titles(codes: Iterable[str]) -> list[dict[str, str]]:
    """Reason codes as the API lists them: each with its Chinese title."""
    return [{"code": code, "title": REASON_TITLES.get(code, code)} for code in codes]


def age_on(birth_date: date, day: date) -> int:
    """Completed years (周岁) on ``day``."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def assessment_valid_until(assessed_on: date, valid_months: int) -> date:
    """The last day an assessment counts: the day before the same day ``valid_months`` later.

    Where that month has no such day, the period ends on its last day (民法典 第二百零三条):
    assessed 01-31 with one month is valid through 02-28.
    """
    target = Month.of(assessed_on).plus(valid_months)
    if assessed_on.day > target.last_day.day:
        return target.last_day
    return date(target.year, target.month, assessed_on.day) - timedelta(days=1)


def assess_eligibility(facts: EligibilityFacts, rules: EligibilityRules, today: date) -> Eligibility:
    reasons: list[str] = []
    if facts.disability_level not in ELIGIBLE_LEVELS:
        reasons.append("LEVEL_BELOW_MODERATE")
    if age_on(facts.birth_date, today) < rules.minimum_age_years:
        reasons.append("UNDER_MINIMUM_AGE")
    if facts.assessed_on > today:
        reasons.append("ASSESSMENT_IN_FUTURE")
    elif today > assessment_valid_until(
        facts.assessed_on, rules.assessment_valid_months
    ) and not exempt_by_allowance_tier(facts.disability_allowance_tier, facts.assessed_on):
        # 二(二): the 400/600 yuan tier stands in for a new assessment, so its date does not expire.
        reasons.append("ASSESSMENT_EXPIRED")
    for benefit, reason in EXCLUDING_BENEFITS.items():
        if benefit in facts.benefits:
            reasons.append(reason)
    # Residency: every value of Residency qualifies (一(一)); LTCI never excludes (一(八)2).
    return Eligibility(eligible=not reasons, reasons=tuple(reasons))


# --- 二(二): who needs a new assessment -----------------------------------------------------------
# "2026年1月1日前评估为中度以上失能的老年人且在评估结论有效期内的,以及正在享受失能护理补贴400元、
# 600元档的残疾老年人可不重新评估。2026年1月1日以后申请 … 均应 … 申请失能评估。"
NEW_ASSESSMENTS_FROM = date(2026, 1, 1)
# 京民养老发〔2019〕160号 二(二) 1-3: 600 (重度失能; 一级视力/肢体/智力/精神残疾; …), 400 (二级视力/肢体;
# 二、三级智力/精神残疾), 200 (一、二级听力/言语残疾). Only 400 and 600 exempt.
ALLOWANCE_TIERS = (200, 400, 600)
EXEMPTING_ALLOWANCE_TIERS = frozenset({400, 600})


class AssessmentBasis(StrEnum):
    """Why an elder does or does not need a new assessment, as stable codes."""

    EXEMPT_ALLOWANCE_TIER = "EXEMPT_ALLOWANCE_TIER"  # on the 400/600 tier: not reassessed
    EXEMPT_PRIOR_ASSESSMENT = "EXEMPT_PRIOR_ASSESSMENT"  # moderate+ before 2026, still valid
    CURRENT_ASSESSMENT = "CURRENT_ASSESSMENT"  # moderate+ from 2026 on, still valid
    LEVEL_BELOW_MODERATE = "LEVEL_BELOW_MODERATE"  # only a new assessment can qualify the elder
    ASSESSMENT_EXPIRED = "ASSESSMENT_EXPIRED"
    ASSESSMENT_IN_FUTURE = "ASSESSMENT_IN_FUTURE"


ASSESSMENT_BASIS_TITLES = {
    AssessmentBasis.EXEMPT_ALLOWANCE_TIER: "正在享受失能护理补贴400元或600元档,可不重新评估",
    AssessmentBasis.EXEMPT_PRIOR_ASSESSMENT: "2026年1月1日前评估为中度以上失能且在评估结论有效期内,可不重新评估",
    AssessmentBasis.CURRENT_ASSESSMENT: "已评估为中度以上失能且在评估结论有效期内",
    AssessmentBasis.LEVEL_BELOW_MODERATE: "能力评估等级低于中度失能,须重新评估方可申领",
    AssessmentBasis.ASSESSMENT_EXPIRED: "能力评估结论已超过有效期,须重新评估",
    AssessmentBasis.ASSESSMENT_IN_FUTURE: "评估日期晚于当前日期,须重新评估",
}


@dataclass(frozen=True)
class AssessmentNeed:
    needed: bool
    basis: AssessmentBasis


def exempt_by_allowance_tier(allowance_tier: int | None, assessed_on: date) -> bool:
    """On the 400/600 tier and not assessed under the program since: a program assessment
    (from 2026-01-01) replaces the tier as the elder's basis and then stands on its own validity."""
    return allowance_tier in EXEMPTING_ALLOWANCE_TIERS and assessed_on < NEW_ASSESSMENTS_FROM


def needs_new_assessment(
    *,
    disability_level: DisabilityLevel,
    assessed_on: date,
    disability_allowance_tier: int | None,
    today: date,
    valid_months: int,
) -> AssessmentNeed:
    """Whether the elder must be (re)assessed before the voucher can rest on their level (二(二)).

    A level below moderate always needs a new assessment (nothing else can qualify the elder);
    then a date in the future; then the tier exemption; then the assessment's own validity, before or from 2026-01-01.
    """
    if disability_level not in ELIGIBLE_LEVELS:
        return AssessmentNeed(True, AssessmentBasis.LEVEL_BELOW_MODERATE)
    if assessed_on > today:
        return AssessmentNeed(True, AssessmentBasis.ASSESSMENT_IN_FUTURE)
    if exempt_by_allowance_tier(disability_allowance_tier, assessed_on):
        return AssessmentNeed(False, AssessmentBasis.EXEMPT_ALLOWANCE_TIER)
    if today > assessment_valid_until(assessed_on, valid_months):
        return AssessmentNeed(True, AssessmentBasis.ASSESSMENT_EXPIRED)
    if assessed_on < NEW_ASSESSMENTS_FROM:
        return AssessmentNeed(False, AssessmentBasis.EXEMPT_PRIOR_ASSESSMENT)
    return AssessmentNeed(False, AssessmentBasis.CURRENT_ASSESSMENT)
