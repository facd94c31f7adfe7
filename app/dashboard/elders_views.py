"""What the elder pages show of an elder and its records: names masked, ID numbers masked, codes
in Chinese. No queries here beyond the names of related rows (app.dashboard.common)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.elders.queries import ElderFilters
from app.models.elders import ELDER_STATUSES, Elder
from app.rules.eligibility import LEVEL_TITLES, REASON_TITLES, Benefit, age_on
from app.rules.identity import mask_id_number, mask_name, normalise_id_number

# Who changed a status when no staff member did (staff are named from their record).
ACTOR_TITLES = {"staff:bootstrap-admin": "系统管理员", "staff:demo-loader": "演示数据导入"}
SUSPENSION_REASON_TITLES = {
    "deceased": "身故",
    "moved_out": "迁出本区",
    "no_longer_eligible": "不再符合补贴条件",
    "other": "其他原因",
    "assessed_below_moderate": "评估等级低于中度失能",
}
# Why a status changed, as the history lists it.
CHANGE_REASON_TITLES = {
    **SUSPENSION_REASON_TITLES,
    "application": "提交申请",
    "approved": "审核通过",
    "death_record_corrected": "更正身故登记",
}
# A pending application is refused ("不予通过") as the API does it: suspended with one of these.
REJECTION_REASONS = ("no_longer_eligible", "other")
SUSPENSION_REASONS = ("deceased", "moved_out", "no_longer_eligible", "other")
BENEFIT_TITLES = {
    Benefit.DESTITUTE_SUPPORT: "特困人员供养",
    Benefit.HARDSHIP_INSTITUTION_SUBSIDY: "困境家庭服务对象入住养老机构补助",
    Benefit.BASIC_SERVICE_UPGRADE: "居家和社区基本养老服务提升行动",
    Benefit.DISABILITY_CARE_ALLOWANCE: "失能老年人护理补贴",
    Benefit.LTCI: "长期护理保险",
}
RESIDENCY_TITLES = {
    "beijing_hukou": "本市户籍",
    "residence_permit": "外埠(持本市居住证)",
    "institution_resident": "外埠(已入住本市养老机构)",
}
ENROLMENT_KIND_TITLES = {"station_basic_services": "驿站四项基本服务", "family_care_bed": "家庭养老床位"}
VOUCHER_STATUS_TITLES = {"active": "有效", "expired": "已到期", "revoked": "已收回", "pending": "未生效"}
ASSESSMENT_STATUS_TITLES = {"submitted": "待审核", "approved": "已通过", "rejected": "未通过"}
VOUCHER_KIND_TITLES = {"monthly": "月度消费券", "assessment": "评估消费券"}


def search_echo(text: str | None) -> str:
    """The search text as the page may show it again: a full ID number only masked."""
    text = (text or "").strip()
    full = normalise_id_number(text)
    return mask_id_number(full) if full else text


def clean_filters(
    text: str | None, status: str | None, level: str | None, reason: str | None, expiring: int | None
) -> ElderFilters:
    """The list's filters, unknown codes dropped (a stale link shows everything, not an error)."""
    return ElderFilters(
        text=(text or "").strip() or None,
        status=status if status in ELDER_STATUSES else None,
        level=level if level in LEVEL_TITLES else None,
        reason=reason if reason in REASON_TITLES else None,
        expiring_within=expiring or None,
    )


@dataclass(frozen=True)
class ElderRow:
    id: str
    name: str
    id_number: str
    age: int
    status: str
    level: str
    eligible: bool
    reasons: list[str]
    assessed_on: date
    suspension_reason: str | None


def elder_row(elder: Elder, today: date) -> ElderRow:
    return ElderRow(
        id=str(elder.id),
        name=mask_name(elder.name),
        id_number=mask_id_number(elder.id_number),
        age=age_on(elder.birth_date, today),
        status=elder.status,
        level=elder.disability_level,
        eligible=elder.eligible,
        reasons=[REASON_TITLES.get(code, code) for code in elder.ineligible_reasons],
        assessed_on=elder.assessed_on,
        suspension_reason=elder.suspension_reason,
    )
